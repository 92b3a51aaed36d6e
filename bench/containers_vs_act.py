"""Wall time of a container workflow: nektos/act (via Podman's Docker API) vs Conveyor.

Run with `.venv/bin/python bench/containers_vs_act.py [--repeat N]` after `make install`.
The workflow has 2 jobs (`test` needs `build` and reads its output) of 3 `run:` steps each,
6 steps in all, and runs every job in a container of the busybox base image:
- act: `podman system service --time=0 unix://<tmp>/podman.sock` (with Conveyor's
  containers.conf, so runc/cgroupfs/ulimits suit this host), `DOCKER_HOST` pointing at it,
  `-P ubuntu-latest=<busybox> --pull=false --action-offline-mode --no-cache-server`;
- Conveyor: `conveyor run --runner podman -P ubuntu-latest=<busybox>` (one container per job,
  each step `podman exec`'d into it).
Each tool runs once to warm up, then N times interleaved; medians and the ratio act/conveyor
are printed (target: Conveyor >= 5x faster). Always exits 0: this is a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image

TARGET = 5.0

WORKFLOW = """\
on: push
defaults:
  run:
    shell: sh
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      artifact: ${{ steps.make.outputs.artifact }}
    steps:
      - run: echo "building on $(uname -m)"
      - id: make
        run: echo "artifact=app-1.0.tar" >> "$GITHUB_OUTPUT"
      - run: ls / > /dev/null
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo "testing ${{ needs.build.outputs.artifact }}"
      - run: test "${{ needs.build.outputs.artifact }}" = app-1.0.tar
      - run: echo done
"""


def _repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/ci.yml").write_text(WORKFLOW)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.invalid",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.invalid",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    event = {"ref": "refs/heads/main", "repository": {"name": "repo", "full_name": "me/repo"}}
    (root / "event.json").write_text(json.dumps(event))
    return repo


def _timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, bool, str]:
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return (
        time.monotonic() - started,
        proc.returncode == 0,
        proc.stdout[-1500:] + proc.stderr[-1500:],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    podman = Podman()
    image = asyncio.run(ensure_busybox_image(podman))
    act = Path(sys.executable).parent / "act"
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        repo = _repo(root)
        sock = root / "podman.sock"
        service = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{sock}"],
            env=dict(podman.env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not sock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            act_env = {**os.environ, "HOME": str(root / "home"), "DOCKER_HOST": f"unix://{sock}"}
            act_argv = [
                str(act),
                "push",
                "-W",
                ".github/workflows/ci.yml",
                "-P",
                f"ubuntu-latest={image}",
                "--pull=false",
                "--action-offline-mode",
                "-e",
                str(root / "event.json"),
                "--no-cache-server",
                "--container-options",
                "--ulimit nofile=1024:1024 --ulimit nproc=4096:4096",
            ]
            conveyor_env = {**os.environ, "CONVEYOR_HOME": str(root / "conveyor-home")}
            conveyor_argv = [
                sys.executable,
                "-m",
                "conveyor.app",
                "run",
                "--runner",
                "podman",
                "-P",
                f"ubuntu-latest={image}",
            ]
            tools = {
                "act (podman socket)": (act_argv, act_env),
                "conveyor --runner podman": (conveyor_argv, conveyor_env),
            }
            times: dict[str, list[float]] = {name: [] for name in tools}
            failures: dict[str, str] = {}
            for round_ in range(args.repeat + 1):
                for name, (argv, env) in tools.items():
                    elapsed, ok, tail = _timed(argv, cwd=repo, env=env)
                    if not ok:
                        failures[name] = tail
                    if round_:  # round 0 warms up (image layers, caches)
                        times[name].append(elapsed)
        finally:
            service.terminate()
            service.wait(timeout=10)
    print("workflow: 2 jobs (test needs build), 6 run: steps, busybox container per job")
    print(f"{'tool':<28}{'runs':>5}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, values in times.items():
        print(
            f"{name:<28}{len(values):>5}{statistics.median(values):>10.2f}"
            f"{min(values):>8.2f}{max(values):>8.2f}"
        )
    ratio = statistics.median(times["act (podman socket)"]) / statistics.median(
        times["conveyor --runner podman"]
    )
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"conveyor is {ratio:.1f}x faster than act ({verdict} the {TARGET:g}x target)")
    for name, tail in failures.items():
        print(f"\n{name} FAILED at least once; output tail:\n{tail}")


if __name__ == "__main__":
    main()
