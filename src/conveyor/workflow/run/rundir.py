"""The run directory: where a run keeps its jobs' workspaces, step logs and summaries.

`create_run_dir` is called once per `conveyor run` by `conveyor.app.cmd_run`; the engine
asks `job_log_dir` / `step_log_path` where to write. Layout (INTERFACES.md, D2):

    <run_dir>/<workflow-file-stem>/<job name>/<NN>-<step id>.log
    <run_dir>/<workflow-file-stem>/<job name>/summary.md
    <run_dir>/event.json

The base is `$CONVEYOR_HOME/runs` when set, else `<repo>/.conveyor/runs`; runs are numbered
1, 2, … and the number doubles as `GITHUB_RUN_NUMBER`.

Each run directory holds a full workspace copy, so they are pruned (issue 11):
`prune_runs` keeps the newest `keep` runs of one repository and removes older ones. A run
records its repository in `<run_dir>/.repo` (under `$CONVEYOR_HOME` runs of many
repositories share the base), and holds a lock on `<run_dir>/.lock` while its process
lives, so a run still in progress (a concurrent `conveyor run`) is never removed.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[/\\\x00]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDir:
    """A new run's directory and its run number."""

    path: Path
    number: int
    lock: int = -1  # fd of the lock held on `.lock` while this process runs it


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
        lock = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        (path / ".repo").write_text(str(repo_dir.resolve()))
        return RunDir(path=path, number=number, lock=lock)


def prune_runs(repo_dir: Path, environ: Mapping[str, str], *, keep: int) -> list[Path]:
    """Remove all but the newest `keep` finished runs of `repo_dir`; `keep` 0 keeps all.

    Returns the removed directories. Runs of other repositories sharing the base, and
    runs in progress (their lock is held), are never removed; a run from before runs
    recorded their repository counts as the repository's only in `<repo>/.conveyor/runs`.
    """
    base = runs_base(repo_dir, environ)
    if keep <= 0 or not base.is_dir():
        return []
    repo = str(repo_dir.resolve())
    own_base = not environ.get("CONVEYOR_HOME")
    mine = sorted(
        (p for p in base.iterdir() if p.name.isdigit() and _belongs(p, repo, own_base)),
        key=lambda p: int(p.name),
    )
    removed = []
    for path in mine[:-keep]:
        if _in_progress(path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _belongs(run: Path, repo: str, own_base: bool) -> bool:
    try:
        return (run / ".repo").read_text() == repo
    except FileNotFoundError:
        return own_base
    except OSError:
        return False


def _in_progress(run: Path) -> bool:
    try:
        fd = os.open(run / ".lock", os.O_RDWR)
    except OSError:
        return False  # no lock file: a run from before runs were locked, long finished
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


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
