"""Concurrent promotions into one config repo served over local HTTP (git http-backend).

Run 1: N processes (default 50) promote N different images at once.
Run 2: M processes (default 20) promote the same image with build numbers 1..M in random
order, with --only-if-newer.
Each run in several modes: `shared` (forked processes calling the library with the
machine-shared cache: group commit), `cli` (the same through `conveyor promote` as a fresh
Python process each, interpreter start-up included), `own` (a private cache per process:
pure optimistic fetch/re-apply/push with jittered backoff), and,
as the peer, the naive loop many pipelines use (clone, sed, commit, push; on rejection
`git pull --rebase` and push again, up to 3 times, as uptick's gitops does).

Checks (exit 1 if any fails): every landed promotion is in the final tree and in the
history (trailers), none lost; run 2 ends at the highest build. Prints landed/lost,
retries, wall time and promotions/s. Except in `cli` mode, processes are forked from this
(already imported) interpreter, so those numbers measure promotion, not Python start-up.

    .venv/bin/python bench/promote_concurrency.py [--n 50] [--m 20] [--modes shared,own,naive]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conveyor.clients.gitwrite import Remote
from conveyor.promote.imageref import parse_image
from conveyor.promote.planner import EditSpec
from conveyor.promote.service import history, promote
from conveyor.promote.writeback import Status, WriteRequest

TOKEN = "bench-token"
DOC = """---
# {name}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
      - name: {name}
        image: ghcr.io/acme/{name}:1.0.0  # managed by Conveyor
"""
PER_FILE = 5


@dataclass(frozen=True, slots=True)
class Result:
    status: str
    attempts: int
    commit: str | None
    name: str
    tag: str
    error: str = ""
    procs: int = 0


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def seed(root: Path, n: int) -> Path:
    bare = root / "srv" / "cfg.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    work = root / "seed"
    (work / "envs" / "dev").mkdir(parents=True)
    git("init", "-q", "-b", "main", str(work))
    (work / "promotion.yaml").write_text("stages:\n- name: dev\n  paths: [envs/dev]\n")
    names = [f"svc{i:02d}" for i in range(n)] + ["same"]
    for start in range(0, len(names), PER_FILE):
        group = names[start : start + PER_FILE]
        text = "".join(DOC.format(name=name) for name in group)
        (work / "envs" / "dev" / f"group{start // PER_FILE:02d}.yaml").write_text(text)
    git("add", ".", cwd=work)
    git("-c", "user.name=s", "-c", "user.email=s@x", "commit", "-qm", "seed", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    return bare


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "conveyor.server.githttp", str(root), "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def worker(job: dict[str, Any], go: Any, out: Any) -> None:
    go.wait()
    try:
        if job["mode"] == "naive":
            out.put(naive(job))
            return
        if job["mode"] == "cli":
            out.put(cli(job))
            return
        spec = EditSpec(image=parse_image(f"ghcr.io/acme/{job['name']}"), tag=job["tag"], env="dev")
        req = WriteRequest(
            remote=Remote.parse(job["url"], TOKEN),
            spec=spec,
            cache_root=Path(job["cache"]),
            shared_cache=job["mode"] == "shared",
            max_attempts=100,
            build_number=job.get("build"),
            only_if_newer=job.get("build") is not None,
        )
        res = promote(replace(req))
        out.put(
            Result(
                str(res.status),
                res.attempts,
                res.commit,
                job["name"],
                job["tag"],
                procs=res.git_processes,
            )
        )
    except Exception as exc:  # reported, counted as lost
        out.put(Result("error", 0, None, job["name"], job["tag"], f"{type(exc).__name__}: {exc}"))


def cli(job: dict[str, Any]) -> Result:
    """`conveyor promote … --json` as its own Python process (interpreter start included)."""
    argv = [
        "--repo",
        job["url"],
        "--image",
        f"ghcr.io/acme/{job['name']}:{job['tag']}",
        "--env",
        "dev",
        "--json",
        "--max-attempts",
        "100",
        "--cache-dir",
        job["cache"],
    ]
    if job.get("build") is not None:
        argv += ["--build-number", str(job["build"]), "--only-if-newer"]
    code = "import sys; from conveyor.app.cmd_promote import promote; promote(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_TOKEN": TOKEN},
        check=False,
    )
    if done.returncode != 0:
        return Result("error", 0, None, job["name"], job["tag"], done.stderr.strip())
    doc = json.loads(done.stdout)
    return Result(doc["status"], doc["attempts"], doc["commit"], job["name"], job["tag"])


def naive(job: dict[str, Any]) -> Result:
    """The sed-and-push peer: clone, sed, commit, push; on rejection pull --rebase (3x)."""
    work = Path(job["cache"]) / f"naive-{job['name']}-{job['tag']}"
    url = job["url"].replace("http://", f"http://x:{TOKEN}@")
    git("clone", "-q", "--depth", "1", url, str(work))
    pattern = re.compile(rf"(image: ghcr\.io/acme/{job['name']}):\S+")
    for path in (work / "envs" / "dev").glob("*.yaml"):
        text = path.read_text()
        if pattern.search(text):
            path.write_text(pattern.sub(rf"\1:{job['tag']}", text))
    git(
        "-c",
        "user.name=n",
        "-c",
        "user.email=n@x",
        "commit",
        "-qam",
        f"bump {job['name']}\n\nConveyor-Image: ghcr.io/acme/{job['name']}:{job['tag']}\n"
        "Conveyor-Environment: dev",
        cwd=work,
    )
    for attempt in range(1, 5):
        done = subprocess.run(
            ["git", "push", "-q", "origin", "main"], cwd=work, capture_output=True, check=False
        )
        if done.returncode == 0:
            sha = git("rev-parse", "HEAD", cwd=work).strip()
            return Result("promoted", attempt, sha, job["name"], job["tag"])
        if attempt == 4:
            break
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=n",
                "-c",
                "user.email=n@x",
                "pull",
                "-q",
                "--rebase",
                "--depth",
                "50",
                "origin",
                "main",
            ],
            cwd=work,
            capture_output=True,
            check=False,
        )
    return Result("error", 4, None, job["name"], job["tag"], "push rejected 4 times")


def run(jobs: list[dict[str, Any]]) -> tuple[list[Result], float]:
    ctx = mp.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(job, go, out)) for job in jobs]
    for proc in procs:
        proc.start()
    time.sleep(0.2)
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in jobs]
    wall = time.perf_counter() - started
    for proc in procs:
        proc.join()
    return results, wall


def final_tags(bare: Path) -> dict[str, str]:
    tags: dict[str, str] = {}
    listing = git("--git-dir", str(bare), "ls-tree", "--name-only", "main", "envs/dev/")
    for path in listing.split():
        text = git("--git-dir", str(bare), "show", f"main:{path}")
        for name, tag in re.findall(r"image: ghcr\.io/acme/(\S+?):(\S+)", text):
            tags[name] = tag
    return tags


def bench(mode: str, n: int, m: int, tmp: Path, rng: random.Random) -> list[str]:
    root = tmp / mode
    bare = seed(root, n)
    server, base = start_server(root / "srv")
    url = f"{base}/cfg.git"
    rows: list[str] = []
    failures: list[str] = []
    try:
        cache = str(root / "cache")
        jobs = [
            {
                "mode": mode,
                "url": url,
                "name": f"svc{i:02d}",
                "tag": f"2.0.{i}",
                "cache": cache if mode != "own" else f"{cache}-{i}",
            }
            for i in range(n)
        ]
        results, wall = run(jobs)
        tags = final_tags(bare)
        landed = [r for r in results if r.status == Status.PROMOTED]
        present = sum(tags.get(f"svc{i:02d}") == f"2.0.{i}" for i in range(n))
        logged = {e.image for e in history(Remote.parse(url), env="dev", cache_root=root / "hist")}
        in_history = sum(f"ghcr.io/acme/svc{i:02d}:2.0.{i}" in logged for i in range(n))
        lost = sum(1 for r in landed if tags.get(r.name) != r.tag)
        retries = sum(max(r.attempts - 1, 0) for r in results)
        rows.append(
            _row(
                f"{mode}: {n} images",
                (len(landed), n, present, lost, in_history, retries),
                wall,
                f"{sum(r.procs for r in results) / n:.1f} git processes/promotion"
                if mode in ("shared", "own")
                else "-",
            )
        )
        if present != n or lost or in_history != n:
            failures.append(
                f"{mode} run 1: present {present}/{n}, lost {lost}, history {in_history}/{n}"
            )
        errors = [r.error for r in results if r.error]
        if errors:
            failures.append(f"{mode} run 1 errors: {errors[:3]}")

        builds = list(range(1, m + 1))
        rng.shuffle(builds)
        jobs = [
            {
                "mode": mode,
                "url": url,
                "name": "same",
                "tag": f"b{b}",
                "build": b,
                "cache": cache if mode != "own" else f"{cache}-s{b}",
            }
            for b in builds
        ]
        results, wall = run(jobs)
        final = final_tags(bare).get("same")
        landed = [r for r in results if r.status == Status.PROMOTED]
        skipped = sum(r.status == Status.SKIPPED for r in results)
        entries = history(
            Remote.parse(url),
            env="dev",
            image=parse_image("ghcr.io/acme/same"),
            cache_root=root / "hist",
        )
        commits = {e.commit for e in entries}
        lost = sum(1 for r in landed if r.commit not in commits)
        retries = sum(max(r.attempts - 1, 0) for r in results)
        rows.append(
            _row(
                f"{mode}: same x{m}",
                (
                    len(landed),
                    m,
                    int(final == f"b{m}"),
                    lost,
                    len(commits & {r.commit for r in landed}),
                    retries,
                ),
                wall,
                f"{final} ({skipped} skipped)",
            )
        )
        if final != f"b{m}" or lost:
            failures.append(f"{mode} run 2: final {final}, expected b{m}; lost {lost}")
    finally:
        server.terminate()
        server.wait()
    for failure in failures:
        rows.append(f"  FAIL {failure}")
    return rows


def _row(label: str, counts: tuple[int, int, int, int, int, int], wall: float, final: str) -> str:
    landed, total, present, lost, hist, retries = counts
    return (
        f"{label:<22} {landed:>3}/{total:<3} {present:>7} {lost:>5} {hist:>8} "
        f"{retries:>8} {wall:>7.2f}s {total / wall:>8.1f}  {final}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--m", type=int, default=20)
    parser.add_argument("--modes", default="shared,cli,own,naive")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="conveyor-bench-"))
    print(
        f"git {git('--version').split()[-1]}, {os.cpu_count()} cores, server: git "
        f"http-backend via conveyor.server.githttp on 127.0.0.1"
    )
    print(
        f"{'run':<22} {'landed':>7} {'present':>7} {'lost':>5} {'history':>8} "
        f"{'retries':>8} {'wall':>8} {'promo/s':>8}  final"
    )
    try:
        rows = []
        for mode in args.modes.split(","):
            for row in bench(mode, args.n, args.m, tmp, rng):
                print(row, flush=True)
                rows.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        "present = images at their promoted tag in the final tree (run 2: 1 if it ends at "
        "the highest build); history = landed promotions found via trailers"
    )
    return 1 if any("FAIL" in r and "naive" not in r for r in rows) else 0  # the peer may fail


if __name__ == "__main__":
    sys.exit(main())
