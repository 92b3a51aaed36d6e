"""The web UI's job page on a 100,000-line log (issue 15: "opens in under a second").

Run with `.venv/bin/python bench/ui_log_page.py [--lines 100000] [--repeat 5]`.

1. A scratch data directory gets a completed run whose job `build` has `--lines` log lines,
   written through the real store API (`CIStore.add_logs`, 10,000 lines a batch, as the
   server stores a runner's batches): step markers, `::group::` groups, ANSI colours, and
   the word `needle` on every 250th line.
2. The real server (`python -m conveyor.server.main`, uvicorn on 127.0.0.1) opens it; the
   bench signs in through the login form with the admin token (a session cookie, as a
   browser does).
3. Measured, best and median of `--repeat` fetches each: time to the first byte and total
   time of the job page (its last 1,000 lines), of the page holding line 50,000, of a search
   (`?q=needle`: 400 hits in the whole log), of a search with no hit, and of the whole log
   download (`log.txt`, streamed in chunks).
4. The peer, measured in the same run: the same log as a plain file served by Python's
   `http.server` (no database, no rendering, no masking): its whole download is what "just
   send the log" costs; the ratios compare against it. (GitHub's own viewer shows a large
   log only after loading it whole, and its docs cap what it renders; there is no number of
   theirs to measure here.)

Prints one table and the target; exits 1 when the page misses it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from chromium_timing import browser_timing, print_timing
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine

TARGET = 1.0  # seconds: the job page with a 100,000-line log
LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_text(n: int) -> str:
    """Line `n` of the job as the engine's console writes it."""
    if n % 1000 == 1:
        return f"⭐ Run step {n // 1000 + 1}"
    if n % 1000 == 0:
        return f"✅ Success - Run step {n // 1000} [1.5s]"
    if n % 100 == 2:
        return f"▼ Group {n}"
    indent = "    | " if n % 100 < 20 else "  | "
    word = " needle" if n % 250 == 0 else ""
    return f"{indent}\x1b[32mok\x1b[0m test_{n} <passed> in 0.01s{word}"


def seed(data: Path, lines: int) -> list[str]:
    """The run, its job and its lines in `<data>/conveyor.db`; returns the log's lines."""
    data.mkdir(parents=True, mode=0o700)
    store = CIStore(open_engine(data / "conveyor.db"))
    try:
        run_id = store.add_run(
            {"repo": "bench/app", "workflow_path": ".github/workflows/ci.yml",
             "workflow_name": "CI", "event": "push", "status": "completed",
             "conclusion": "success", "created": time.time(), "finished": time.time()}
        )  # fmt: skip
        steps = [{"id": f"s{i}", "name": f"Run step {i}", "conclusion": "success"}
                 for i in range(1, lines // 1000 + 1)]  # fmt: skip
        store.upsert_job(run_id, "build", status="completed", conclusion="success", steps=steps)
        texts = [log_text(n) for n in range(1, lines + 1)]
        for at in range(0, lines, 10_000):
            store.add_logs(run_id, [("build", t) for t in texts[at : at + 10_000]])
        return texts
    finally:
        store.close()


def timed(client: httpx.Client, url: str, repeat: int) -> tuple[list[float], list[float], int]:
    """Time to first byte and total time of each of `repeat` GETs; the body's size."""
    firsts, totals, size = [], [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        with client.stream("GET", url) as reply:
            reply.raise_for_status()
            size, first = 0, None
            for chunk in reply.iter_raw():
                first = first if first is not None else time.perf_counter() - began
                size += len(chunk)
        totals.append(time.perf_counter() - began)
        firsts.append(first if first is not None else totals[-1])
    return firsts, totals, size


class Servers:
    """Conveyor's server on the seeded data, and `http.server` over the plain log file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port, self.peer_port = _port(), _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.peer_url = f"http://127.0.0.1:{self.peer_port}"

    def start(self) -> None:
        log = (self.root / "server.log").open("ab")
        conveyor = [sys.executable, "-m", "conveyor.server.main", "--data",
                    str(self.root / "server"), "--port", str(self.port),
                    "--local-runner", "host", "--work-dir", str(self.root / "work")]  # fmt: skip
        peer = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                "--directory", str(self.root / "static"), str(self.peer_port)]  # fmt: skip
        env = {**os.environ, "CONVEYOR_WARM": "0"}
        for argv in (conveyor, peer):
            self.procs.append(subprocess.Popen(argv, stdout=log, stderr=log, env=env))
        for url in (f"{self.url}/healthz", f"{self.peer_url}/build.txt"):
            self._wait(url)

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError((self.root / "server.log").read_text()[-3000:])

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def signed_in(self) -> httpx.Client:
        token = (self.root / "server" / "admin-token").read_text().strip()
        client = httpx.Client(base_url=self.url, timeout=60)
        found = LOGIN_CSRF.search(client.get("/login").text)
        assert found, "no CSRF field on the login form"
        reply = client.post("/login", data={"token": token, "csrf": found.group(1)})
        assert reply.status_code == 303, reply.text
        return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ui-log-bench-"))
    servers = Servers(root)
    try:
        began = time.perf_counter()
        texts = seed(root / "server", args.lines)
        seeded = time.perf_counter() - began
        (root / "static").mkdir()
        (root / "static" / "build.txt").write_text("".join(t + "\n" for t in texts))
        servers.start()
        rows = measure(servers, args.repeat, args.lines)
        client = servers.signed_in()
        try:
            browser = browser_timing(f"{servers.url}/runs/1/jobs/build", client, args.repeat)
        finally:
            client.close()
    finally:
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)
    report(rows, args, seeded)
    print_timing("the job page", browser, TARGET)
    in_browser = browser is None or browser.content_loaded < TARGET
    return 0 if rows[0][2] < TARGET and in_browser else 1


Row = tuple[str, float, float, int]  # what, first byte (best), total (median), bytes


def measure(servers: Servers, repeat: int, lines: int) -> list[Row]:
    client = servers.signed_in()
    page = "/runs/1/jobs/build"
    cases: list[tuple[str, str, Callable[[], httpx.Client]]] = [
        ("job page (last 1,000 lines)", page, lambda: client),
        (f"page holding line {lines // 2:,}", f"{page}?line={lines // 2}", lambda: client),
        ("search ?q=needle (whole log)", f"{page}?q=needle", lambda: client),
        ("search, no hit", f"{page}?q=absent-word", lambda: client),
        ("download log.txt (whole log)", f"{page}/log.txt", lambda: client),
    ]
    peer = httpx.Client(base_url=servers.peer_url, timeout=60)
    rows: list[Row] = []
    try:
        client.get(page)  # warm up: templates compiled, database pages cached
        for name, url, get in cases:
            firsts, totals, size = timed(get(), url, repeat)
            rows.append((name, min(firsts), statistics.median(totals), size))
        firsts, totals, size = timed(peer, "/build.txt", repeat)
        rows.append(("peer: http.server, the same log as a file", min(firsts),
                     statistics.median(totals), size))  # fmt: skip
    finally:
        client.close()
        peer.close()
    return rows


def report(rows: list[Row], args: argparse.Namespace, seeded: float) -> None:
    peer_total = rows[-1][2]
    print(f"Job page with a {args.lines:,}-line log (seeded through CIStore in {seeded:.1f} s);")
    print(f"first byte best of {args.repeat}, total median of {args.repeat}:")
    print(f"{'what':<44} {'first byte':>11} {'total':>9} {'size':>10} {'vs peer':>8}")
    for name, first, total, size in rows:
        ratio = f"{total / peer_total:.2f}x" if peer_total else "-"
        print(f"{name:<44} {first * 1000:>8.0f} ms {total * 1000:>6.0f} ms "
              f"{size / 1024:>7.0f} KiB {ratio:>8}")  # fmt: skip
    verdict = "met" if rows[0][2] < TARGET else "MISSED"
    print(f"target: the job page under {TARGET:.0f} s: {verdict} ({rows[0][2] * 1000:.0f} ms)")


if __name__ == "__main__":
    sys.exit(main())
