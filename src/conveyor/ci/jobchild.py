"""Starts a local job's process as the job user and serves its reporter calls (issue 12 #1).

Called by `ci.pool` for each job in `LocalMode.USER`; the child's side and the line protocol
are in `ci.jobproc`. The child gets a clean environment (PATH, the job user's HOME, USER,
LANG; the action store and PYTHONPATH when the server has them), no supplementary groups,
umask 022 and its own session. If the child ends without reporting completion (killed,
crashed), the job is failed with its exit code; if the server stops, the child is sent
SIGTERM (the engine ends the job's processes and reports) and killed after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conveyor.ci.jobproc import LINE_LIMIT, answer
from conveyor.ci.jobuser import JobUser
from conveyor.core.errors import UserError
from conveyor.workflow.schema.definitions import schema_dir

log = logging.getLogger(__name__)

STOP_GRACE = 10.0
_PASSED = ("PATH", "LANG", "LC_ALL", "CONVEYOR_ACTIONS", "PYTHONPATH")


def child_environment(
    user: JobUser, bin_dir: Path, source: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What the job process starts with: nothing of the server's secrets or settings; the
    launcher of `conveyor` (`jobuser.conveyor_shim`) first on PATH."""
    src = os.environ if source is None else source
    env = {name: src[name] for name in _PASSED if src.get(name)}
    env["PATH"] = f"{bin_dir}:{env.get('PATH') or '/usr/local/bin:/usr/bin:/bin'}"
    env.update(HOME=str(user.home), USER=user.name, LOGNAME=user.name, SHELL="/bin/sh")
    env["CONVEYOR_CACHE_DIR"] = str(bin_dir.parent / "cache")  # this server's, per repository
    with contextlib.suppress(UserError):  # (the child's Python may have another sys.prefix)
        env["CONVEYOR_WORKFLOW_SCHEMA_DIR"] = str(schema_dir())
    return env


async def run_in_child(
    assignment: Mapping[str, Any],
    reporter: Any,
    *,
    user: JobUser,
    work_dir: Path,
    python: list[str],
    bin_dir: Path,
    heartbeat: float = 0.5,
) -> None:
    """Run the assignment in a job process as `user` (Python started as `python`, see
    `jobuser.interpreter`); returns when it has ended."""
    module = ["conveyor.ci.jobproc"] if len(python) > 1 else ["-m", "conveyor.ci.jobproc"]
    proc = await asyncio.create_subprocess_exec(
        *python,
        *module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(user, bin_dir),
        cwd=work_dir,
        user=user.uid,
        group=user.gid,
        extra_groups=[],
        umask=0o022,
        start_new_session=True,
        limit=LINE_LIMIT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    first = {
        "assignment": dict(assignment),
        "work_dir": str(work_dir),
        "heartbeat": heartbeat,
        "server": os.getpid(),  # the child dies with it (`jobproc.die_with_parent`)
    }
    proc.stdin.write(json.dumps(first).encode() + b"\n")
    completed: list[bool] = []
    calls: set[asyncio.Task[None]] = set()
    try:
        while line := await proc.stdout.readline():
            request = json.loads(line)
            if request.get("call") == "complete":
                completed.append(True)
            task = asyncio.create_task(_serve(proc, reporter, request))
            calls.add(task)
            task.add_done_callback(calls.discard)
        await asyncio.gather(*calls, return_exceptions=True)
        code = await proc.wait()
    except asyncio.CancelledError:
        await _stop(proc)
        raise
    finally:
        for task in calls:
            task.cancel()
    if not completed:
        log.warning("job process %d ended with %d before reporting", proc.pid, code)
        await reporter.complete(
            {"result": "failure", "error": f"the job's process ended with exit code {code}"}
        )


async def _serve(
    proc: asyncio.subprocess.Process, reporter: Any, request: Mapping[str, Any]
) -> None:
    number = request.get("id")
    try:
        result = await answer(reporter, str(request.get("call")), list(request.get("args") or []))
        reply: dict[str, Any] = {"id": number, "result": result}
    except Exception as exc:  # the call failed on the server: the child's call raises it
        log.warning("job process call %s failed: %s", request.get("call"), exc)
        reply = {"id": number, "error": str(exc)}
    assert proc.stdin is not None
    with contextlib.suppress(ConnectionError):  # the child is gone: nobody waits
        proc.stdin.write(json.dumps(reply).encode() + b"\n")
        await proc.stdin.drain()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM (the child cancels its job and reports), SIGKILL after `STOP_GRACE`."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
