"""The run directory: where a run keeps its jobs' workspaces, step logs and summaries.

`create_run_dir` is called once per `conveyor run` by `conveyor.app.cmd_run`; the engine
asks `job_log_dir` / `step_log_path` where to write. Layout (INTERFACES.md, D2):

    <run_dir>/<workflow-file-stem>/<job name>/<NN>-<step id>.log
    <run_dir>/<workflow-file-stem>/<job name>/summary.md
    <run_dir>/event.json

The base is `$CONVEYOR_HOME/runs` when set, else `<repo>/.conveyor/runs`; runs are numbered
1, 2, … and the number doubles as `GITHUB_RUN_NUMBER`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[/\\\x00]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDir:
    """A new run's directory and its run number."""

    path: Path
    number: int


def runs_base(repo_dir: Path, environ: Mapping[str, str]) -> Path:
    home = environ.get("CONVEYOR_HOME")
    return Path(home).resolve() / "runs" if home else repo_dir.resolve() / ".conveyor" / "runs"


def create_run_dir(repo_dir: Path, environ: Mapping[str, str]) -> RunDir:
    """Make the next numbered run directory (safe against concurrent `conveyor run`s)."""
    base = runs_base(repo_dir, environ)
    base.mkdir(parents=True, exist_ok=True)
    ignore = base.parent / ".gitignore"
    if not environ.get("CONVEYOR_HOME") and not ignore.exists():
        ignore.write_text("*\n")  # keeps runs out of `git status` and of --worktree copies
    numbers = [int(p.name) for p in base.iterdir() if p.name.isdigit()]
    number = max(numbers, default=0) + 1
    while True:
        path = base / str(number)
        try:
            path.mkdir()
        except FileExistsError:
            number += 1
            continue
        return RunDir(path=path, number=number)


def safe_name(name: str) -> str:
    """A job or step name usable as one path component."""
    cleaned = _UNSAFE.sub("_", name).strip() or "_"
    return "_" + cleaned if cleaned in {".", ".."} else cleaned


def job_log_dir(run_dir: Path, workflow_path: str, job_name: str) -> Path:
    stem = Path(workflow_path).stem
    path = run_dir / safe_name(stem) / safe_name(job_name)
    path.mkdir(parents=True, exist_ok=True)
    return path


def step_log_path(job_dir: Path, index: int, step_id: str) -> Path:
    return job_dir / f"{index:02d}-{safe_name(step_id)}.log"
