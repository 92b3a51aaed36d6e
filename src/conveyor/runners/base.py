"""The runner boundary: how the engine runs one command and where a job keeps its files.

`conveyor.workflow.run` (the step executor) calls `Runner.exec` once per process it needs (a
`run:` script, a node action, a hook) and `make_job_dirs` once per job. Concrete runners
(`host`, later `podman`) live next to this module and are chosen in `conveyor.app`. Nothing
here knows workflow syntax: argv, environment, directory, timeout and a line callback in; an
exit code out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from conveyor.core.errors import ConveyorError

OutputCallback = Callable[[str], None]
"""Receives each output line of a process, without its line ending, already decoded."""

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# What GitHub's hosted runner hands a step besides GITHUB_*/RUNNER_* (added by the engine):
# the login basics. Anything else in Conveyor's own environment (tokens, virtualenvs, proxies
# the user did not ask for) must not leak into jobs.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME", "SHELL")


class RunnerError(ConveyorError):
    """Base of the errors a runner raises on purpose (the job's setup could not be made)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecResult:
    """How one process ended.

    `exit_code` is the process's code; a process killed by signal N reports 128 + N like a
    shell (and like GitHub's runner). `timed_out` is true when the runner killed it because
    `timeout` elapsed. `cancelled` is true when it was stopped from outside the runner's own
    timeout (the runner re-raises `asyncio.CancelledError` for task cancellation, so this is
    only set by runners that can observe an external stop). `duration` is wall seconds.
    """

    exit_code: int
    timed_out: bool = False
    cancelled: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the process exited 0 on its own."""
        return self.exit_code == 0 and not self.timed_out and not self.cancelled


class Runner(Protocol):
    """Where a job's commands execute. One instance per job is the intended use."""

    async def exec(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        timeout: float | None,
        on_output: OutputCallback,
    ) -> ExecResult:
        """Run `argv` with exactly `env`; stream stdout+stderr merged, line by line."""
        ...

    async def cleanup(self) -> None:
        """End what the job's steps left running (GitHub's "Cleaning up orphan processes")."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDirs:
    """A job's directories on the machine that runs it.

    `workspace` is fresh and empty (GITHUB_WORKSPACE); `temp` is RUNNER_TEMP (script files and
    per-step environment files go there); `tool_cache` is RUNNER_TOOL_CACHE. `home` is the
    real home directory of the user running Conveyor, as GitHub's HOME is the runner user's
    home: it is shared between jobs, exactly like on a self-hosted runner.
    """

    root: Path
    workspace: Path
    temp: Path
    tool_cache: Path
    home: Path


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def clean_name(key: str) -> str:
    """A file-system-safe, readable directory name for a job key like `build (1, a)`."""
    name = _UNSAFE.sub("-", key).strip("-.")
    return name[:80] or "job"


def make_job_dirs(run_dir: Path, job_key: str) -> JobDirs:
    """Create `<run_dir>/_work/<clean job key>/{workspace,_temp,_tool}`, always new and empty.

    Two keys that clean to the same name (or a re-used run dir) get `-2`, `-3`, … suffixes;
    `mkdir` without `exist_ok` makes that safe when parallel jobs start at the same moment.
    """
    parent = run_dir / "_work"
    parent.mkdir(parents=True, exist_ok=True)
    base = clean_name(job_key)
    root = parent / base
    suffix = 1
    while True:
        try:
            root.mkdir()
            break
        except FileExistsError:
            suffix += 1
            root = parent / f"{base}-{suffix}"
    dirs = JobDirs(
        root=root,
        workspace=root / "workspace",
        temp=root / "_temp",
        tool_cache=root / "_tool",
        home=Path(os.environ.get("HOME") or Path.home()),
    )
    for path in (dirs.workspace, dirs.temp, dirs.tool_cache):
        path.mkdir()
    return dirs


def base_environment(
    source: Mapping[str, str] | None = None, *, tty: bool = False
) -> dict[str, str]:
    """The environment a job starts from: the login basics of `source` plus `CI=true`.

    Only PATH, HOME, LANG, LC_ALL, TMPDIR, USER, LOGNAME and SHELL pass through (when set);
    TERM too when `tty` (output goes to a terminal). The engine adds GITHUB_* and RUNNER_*.
    """
    src = os.environ if source is None else source
    env = {name: src[name] for name in _PASSED_THROUGH if src.get(name)}
    env.setdefault("PATH", DEFAULT_PATH)
    if tty and src.get("TERM"):
        env["TERM"] = src["TERM"]
    env["CI"] = "true"
    return env
