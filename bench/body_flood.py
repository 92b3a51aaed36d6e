"""Body flood: unauthenticated 200 MB POSTs against a real `conveyor server` (issue 12 §6).

Run with `.venv/bin/python bench/body_flood.py [--requests 200] [--size-mb 200]
[--parallel 4]`. Starts its own server in a scratch directory, reads its resident memory
(VmRSS, and the peak VmHWM) from /proc, then sends `--requests` POSTs of `--size-mb` each
without a token, `--parallel` at a time (half with Content-Length, half chunked, spread over
a JSON route, the runner protocol, an artifact upload, a git push, the webhook without a
signature and a repository's webhook with a made-up one, whose body the server reads up to
the webhook cap through the HMAC without keeping it in memory), while a
thread times `GET /healthz` every 50 ms (and for 3 s before the flood: the peer). Prints
peak RSS before and after, what the server took of each body before answering, the
answers, and /healthz latency (p50, max, failures; the ratio to the idle p50).
The bar (issue 12): peak RSS within +50 MB, /healthz answering throughout. Exits 1 when
the bar is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.security.flood import Answer, post, rss
from tests.server.conftest import Server, make_server

MB = 1024 * 1024
PATHS = (
    "/api/v1/repos",
    "/api/v1/runner/poll",
    "/api/v1/runner/runs/1/artifacts/a?runner=r",
    "/git/acme/app.git/git-receive-pack",
    "/hooks/github",
    "/hooks/github/acme/app",  # with a made-up signature: read, never held (see below)
)
FAKE_SIGNATURE = {"X-Hub-Signature-256": "sha256=" + "0" * 64}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-flood-") as tmp:
        server = make_server(Path(tmp))
        server.start()
        try:
            return flood(server, args.requests, args.size_mb * MB, args.parallel)
        finally:
            server.stop()


def flood(server: object, requests: int, size: int, parallel: int) -> int:
    assert isinstance(server, Server) and server.proc is not None
    pid = server.proc.pid
    time.sleep(0.5)
    rss_before, peak_before = rss(pid)
    latencies: list[float] = []
    failures = [0]
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            start = time.monotonic()
            try:
                ok = httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.monotonic() - start)
            failures[0] += 0 if ok else 1
            time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()  # the peer: /healthz with no flood, for 3 s
    time.sleep(3)
    idle = sorted(latencies)
    latencies.clear()

    def one(i: int) -> Answer:
        path = PATHS[i % len(PATHS)]
        headers = FAKE_SIGNATURE if path.count("/") > 2 and path.startswith("/hooks/") else {}
        return post(server.port, path, size, chunked=bool(i % 2), headers=headers)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        answers = list(pool.map(one, range(requests)))
    elapsed = time.monotonic() - started
    done.set()
    prober.join()
    rss_after, peak_after = rss(pid)
    grown = (peak_after - peak_before) / MB
    statuses = Counter(a.status for a in answers)
    taken = [a.sent / MB for a in answers]
    print(
        f"{requests} unauthenticated POSTs of {size // MB} MB, {parallel} at a time, "
        f"{elapsed:.1f} s"
    )
    print(f"answers: {dict(sorted(statuses.items()))}")
    print(
        f"body taken before the answer: median {statistics.median(taken):.1f} MB, "
        f"max {max(taken):.1f} MB of {size // MB} MB"
    )
    print(f"RSS before {rss_before / MB:.1f} MB, after {rss_after / MB:.1f} MB")
    print(
        f"peak RSS before {peak_before / MB:.1f} MB, after {peak_after / MB:.1f} MB "
        f"(+{grown:.1f} MB; bar +50 MB)"
    )
    lat = sorted(latencies)
    p50, idle_p50 = statistics.median(lat), statistics.median(idle)
    print(
        f"/healthz during the flood: {len(lat)} probes, p50 {p50 * 1000:.1f} ms, "
        f"max {lat[-1] * 1000:.1f} ms, failures {failures[0]}; without it: p50 "
        f"{idle_p50 * 1000:.1f} ms (x{p50 / idle_p50:.1f})"
    )
    ok = grown < 50 and failures[0] == 0 and set(statuses) <= {401, 413}
    print("bar met" if ok else "BAR MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
