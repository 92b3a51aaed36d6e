"""Load probe of a real `conveyor server` on 127.0.0.1 (issue 18): the probe's figures.

Run with `.venv/bin/python bench/server_load.py [--src DIR] [--runs 40] [--clients 20]`.
It starts `python -m conveyor.server.main` (2 local runners, `--local-runner host`) in a
scratch data directory, with `PYTHONPATH=--src` when given (e.g. a `git archive main src`
copy, to measure main's code with the same probe), then:

1. burst: a repository with a trivial workflow (`on: workflow_dispatch`, one `echo`);
   `--runs` dispatches sent at once by 10 threads; runs/s = runs / (last finished - first
   created), queue wait = started - created of each run (p50/p95);
2. reads: `--clients` threads each doing `--reads` GETs (the runs list, then one run),
   latency p50/p95/p99 and errors;
3. logs: a run whose step prints `--lines` lines (`seq`); then the last 1,000 lines by
   `?offset=<total-1000>` (what main offers), by `?tail=1000` (when the server knows it:
   its answer has 1,000 lines) and the whole log, each the best of 5 fetches;
4. the server's peak RSS (VmHWM from /proc).

Every phase has a deadline (`--timeout` s each); the server is stopped and the scratch
directory removed at the end. Prints one table. Always exits 0 unless the server fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

TRIVIAL = """name: Trivial
on: workflow_dispatch
jobs:
  t:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""

LOUD = """name: Loud
on: workflow_dispatch
jobs:
  loud:
    runs-on: ubuntu-latest
    steps:
      - run: seq 1 LINES
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Probe:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = root / "server"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=60)

    # -- server ------------------------------------------------------------------------
    def start(self) -> None:
        env = {**os.environ, "CONVEYOR_WARM": "0"}
        if self.args.src:
            env["PYTHONPATH"] = str(Path(self.args.src).resolve())
        command = [sys.executable, "-m", "conveyor.server.main", "--data", str(self.data)]
        command += ["--port", str(self.port), "--pool-min", "2", "--pool-max", "2"]
        command += ["--local-runner", "host", "--work-dir", str(self.root / "work")]
        self.data.mkdir(parents=True)
        with (self.root / "server.log").open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    token = (self.data / "admin-token").read_text().strip()
                    self.client.headers["Authorization"] = f"Bearer {token}"
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError((self.root / "server.log").read_text()[-3000:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def peak_rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    # -- helpers -----------------------------------------------------------------------
    def repo(self, name: str, workflow: str) -> None:
        self.client.post("/api/v1/repos", json={"name": name}).raise_for_status()
        work = self.root / name.replace("/", "-")
        work.mkdir()
        env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@e"}
        env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@e"}
        (work / ".github/workflows").mkdir(parents=True)
        (work / ".github/workflows/w.yml").write_text(workflow)
        header = f"http.extraHeader={self.client.headers['Authorization']}".replace(
            "extraHeader=", "extraHeader=Authorization: "
        )
        for argv in (
            ["init", "-q", "-b", "main"],
            ["add", "-A"],
            ["commit", "-q", "-m", "w"],
            ["-c", header, "push", "-q", f"{self.url}/git/{name}.git", "HEAD:refs/heads/main"],
        ):
            subprocess.run(["git", *argv], cwd=work, env=env, check=True, capture_output=True)

    def dispatch(self, name: str) -> int:
        body = {"workflow": "w.yml", "ref": "main"}
        reply = self.client.post(f"/api/v1/repos/{name}/dispatches", json=body)
        reply.raise_for_status()
        return int(reply.json()["runs"][0])

    def wait(self, ids: list[int], deadline: float) -> list[dict[str, Any]]:
        done: dict[int, dict[str, Any]] = {}
        while len(done) < len(ids) and time.monotonic() < deadline:
            for run_id in ids:
                if run_id not in done:
                    run = self.client.get(f"/api/v1/runs/{run_id}").json()
                    if run["status"] == "completed":
                        done[run_id] = run
            time.sleep(0.5)
        return list(done.values())

    # -- phases ------------------------------------------------------------------------
    def burst(self) -> dict[str, str]:
        self.repo("bench/burst", TRIVIAL)
        with ThreadPoolExecutor(10) as pool:
            ids = list(pool.map(lambda _: self.dispatch("bench/burst"), range(self.args.runs)))
        runs = self.wait(ids, time.monotonic() + self.args.timeout)
        ok = sum(r["conclusion"] == "success" for r in runs)
        waits = [r["started"] - r["created"] for r in runs if r.get("started")]
        span = max(r["finished"] for r in runs) - min(r["created"] for r in runs)
        return {
            "burst runs concluded (success)": f"{len(runs)}/{len(ids)} ({ok})",
            "burst runs/s": f"{len(runs) / span:.2f}" if runs else "-",
            "queue wait p50 / p95 (s)": f"{pct(waits, 50):.1f} / {pct(waits, 95):.1f}",
        }

    def reads(self) -> dict[str, str]:
        some = self.client.get("/api/v1/runs").json()
        one = some[0]["id"] if some else 1
        deadline = time.monotonic() + self.args.timeout

        def client(_: int) -> tuple[list[float], int]:
            times, errors = [], 0
            with httpx.Client(
                base_url=self.url, headers=dict(self.client.headers), timeout=60
            ) as own:
                for i in range(self.args.reads):
                    if time.monotonic() > deadline:
                        break
                    path = "/api/v1/runs" if i % 2 == 0 else f"/api/v1/runs/{one}"
                    start = time.perf_counter()
                    try:
                        ok = own.get(path).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    times.append(time.perf_counter() - start)
                    errors += not ok
            return times, errors

        with ThreadPoolExecutor(self.args.clients) as pool:
            results = list(pool.map(client, range(self.args.clients)))
        times = [t * 1000 for ts, _ in results for t in ts]
        errors = sum(e for _, e in results)
        return {
            f"API reads ({self.args.clients} clients), errors": f"{len(times)}, {errors}",
            "API read p50 / p95 / p99 (ms)": (
                f"{pct(times, 50):.0f} / {pct(times, 95):.0f} / {pct(times, 99):.0f}"
            ),
        }

    def logs(self) -> dict[str, str]:
        self.repo("bench/loud", LOUD.replace("LINES", str(self.args.lines)))
        run_id = self.dispatch("bench/loud")
        [run] = self.wait([run_id], time.monotonic() + self.args.timeout) or [{}]
        path = f"/api/v1/runs/{run_id}/logs"
        total = self.client.get(path).text.count("\n")

        def best(params: dict[str, Any]) -> tuple[float, int]:
            times, lines = [], 0
            for _ in range(5):
                start = time.perf_counter()
                reply = self.client.get(path, params=params)
                times.append(time.perf_counter() - start)
                lines = reply.text.count("\n")
            return min(times), lines

        full, _ = best({})
        offset, got = best({"offset": max(total - 1000, 0)})
        tail, tail_lines = best({"tail": 1000})
        tail_text = f"{tail * 1000:.0f} ms" if tail_lines == min(1000, total) else "n/a"
        return {
            "log lines (run conclusion)": f"{total} ({run.get('conclusion', '?')})",
            "log full fetch": f"{full * 1000:.0f} ms",
            "log last 1,000 by ?offset=": f"{offset * 1000:.0f} ms ({got} lines)",
            "log last 1,000 by ?tail=": tail_text,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", default="", help="PYTHONPATH for the server (other code)")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--reads", type=int, default=100, help="GETs per client")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per phase")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="conveyor-load-"))
    probe = Probe(args, root)
    table: dict[str, str] = {"server code": args.src or "this checkout"}
    try:
        probe.start()
        for phase in (probe.burst, probe.reads, probe.logs):
            started = time.monotonic()
            table |= phase()
            table[f"  ({phase.__name__} phase took)"] = f"{time.monotonic() - started:.0f} s"
        table["server peak RSS"] = f"{probe.peak_rss_mib():.0f} MiB"
    finally:
        probe.stop()
        probe.client.close()
        shutil.rmtree(root, ignore_errors=True)
    width = max(len(k) for k in table)
    for key, value in table.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
