"""Runs a job's processes on this machine (like GitHub's self-hosted runner, act's host mode).

Called by `conveyor.workflow.run` through the `Runner` protocol; chosen in `conveyor.app`.
Each process starts in its own session, so it and everything it spawns share one process
group: a timeout or a cancellation ends the whole group (SIGTERM, then SIGKILL after a short
grace), grandchildren included. Output is read with a `SubprocessProtocol` (no reader task,
no StreamReader: this is the hot path; act spends ~5 ms per step and we must not be slower).

A process that exits while something it left behind still holds the output pipe (`server &`
without redirection) does not hang the step, unlike on GitHub: output is drained for
`drain_timeout` seconds after the exit, then the step ends; what the orphan prints later is
dropped. Orphans keep running until `cleanup()` (the job's end), like GitHub's "Cleaning up
orphan processes": members of the step's process groups and any process whose environment
carries this runner's RUNNER_TRACKING_ID (set on each process unless the engine sets it).

Those processes must not outlive the process running the job either (issue 18 #2): a
guardian (`runners.guardian`), started with the job's first process, ends them when this
process dies without calling `cleanup()` (killed, crashed).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.runners import guardian, processes
from conveyor.runners.base import ExecResult, OutputCallback
from conveyor.runners.lines import LineSplitter

log = logging.getLogger(__name__)

_STDOUT = 1
TRACKING_VARIABLE = "RUNNER_TRACKING_ID"


class _Pipe(asyncio.SubprocessProtocol):
    """Feeds the merged output to the callback and signals exit and end of output separately."""

    def __init__(self, on_output: OutputCallback, loop: asyncio.AbstractEventLoop) -> None:
        self.on_output = on_output
        self.splitter = LineSplitter()
        self.exited = loop.create_future()
        self.eof = loop.create_future()
        self.detached = False
        self.error: Exception | None = None
        self.transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if self.detached:
            return
        emit = self.on_output
        try:
            for line in self.splitter.feed(data if isinstance(data, bytes) else data.encode()):
                emit(line)
        except Exception as exc:  # the caller's callback failed: stop feeding it, report later
            self.error = exc
            self.detached = True

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == _STDOUT:
            self.flush()
            if not self.eof.done():
                self.eof.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        # Everything is over (process reaped, pipes closed): release the transport even when
        # `exec` already returned because an orphan held the pipe.
        if self.detached and self.transport is not None:
            self.transport.close()

    def flush(self) -> None:
        """Emit a last unterminated line, once."""
        if self.detached:
            return
        try:
            for line in self.splitter.close():
                self.on_output(line)
        except Exception as exc:
            self.error = exc
            self.detached = True


class HostRunner:
    """Runs processes on the host; one instance per job (it remembers process groups to end)."""

    def __init__(
        self, *, kill_grace: float = 1.0, drain_timeout: float = 0.5, umask: int = -1
    ) -> None:
        self.umask = umask  # -1: the processes keep this process's umask
        self.kill_grace = kill_grace
        self.drain_timeout = drain_timeout
        self._groups: set[int] = set()
        self._open: set[asyncio.SubprocessTransport] = set()
        self.tracking_id = f"conveyor_{uuid.uuid4()}"
        self._tracking = f"{TRACKING_VARIABLE}={self.tracking_id}".encode()
        self._since = processes.ticks_since_boot() - 1  # tick rounding: never miss our own children
        self._guardian: asyncio.subprocess.Process | None = None

    async def exec(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        timeout: float | None,
        on_output: OutputCallback,
    ) -> ExecResult:
        """Run `argv` in `cwd` with `env` and nothing else but RUNNER_TRACKING_ID (kept if
        given); see the module docstring for output, timeout and cancellation rules."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        proto = _Pipe(on_output, loop)
        environment = dict(env)
        environment.setdefault(TRACKING_VARIABLE, self.tracking_id)
        await self._guard()
        try:
            transport, _ = await loop.subprocess_exec(
                lambda: proto,
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=cwd,
                start_new_session=True,
                umask=self.umask,
            )
        except OSError as exc:
            on_output(f"Error: cannot start {argv[0]!r} in {str(cwd)!r}: {exc.strerror}")
            code = 127 if exc.errno == errno.ENOENT else 126
            return ExecResult(exit_code=code, duration=time.monotonic() - started)
        pgid = transport.get_pid()
        self._groups.add(pgid)
        self._tell(b"+%d" % pgid)
        timed_out = False
        try:
            try:
                await asyncio.wait_for(asyncio.shield(proto.exited), timeout)
            except TimeoutError:
                timed_out = True
                await self._end_group(pgid, proto)
            await self._drain(proto, transport)
        except asyncio.CancelledError:
            await self._end_group(pgid, proto)
            await self._drain(proto, transport)
            raise
        if proto.error is not None:
            # `on_output` raised: the process ran to its end unobserved; surface the cause.
            raise proto.error
        code = _exit_code(transport.get_returncode())
        return ExecResult(exit_code=code, timed_out=timed_out, duration=time.monotonic() - started)

    async def _guard(self) -> None:
        """Start the job's guardian before its first process (see `runners.guardian`)."""
        if self._guardian is not None:
            return
        argv = guardian.command(
            sys.executable, tracking=self.tracking_id, since=self._since, grace=self.kill_grace
        )
        self._guardian = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env={},
            start_new_session=True,  # untouched by the job's group signals and a terminal's ^C
        )

    async def guard_removal(self, argv: list[str], env: Mapping[str, str]) -> None:
        """Have the job's guardian run `argv` should this process die before `cleanup`
        (`PodmanRunner`: remove the job container, which no process group holds)."""
        await self._guard()
        self._tell(guardian.removal(list(argv), dict(env)))

    def _tell(self, line: bytes) -> None:
        keeper = self._guardian
        if keeper is not None and keeper.stdin is not None and not keeper.stdin.is_closing():
            keeper.stdin.write(line + b"\n")

    async def _release_guardian(self) -> None:
        """The job's processes were ended the normal way: the guardian leaves quietly."""
        keeper, self._guardian = self._guardian, None
        if keeper is None or keeper.stdin is None:
            return
        with contextlib.suppress(ConnectionError):
            keeper.stdin.write(guardian.DONE + b"\n")
            await keeper.stdin.drain()
        keeper.stdin.close()
        await keeper.wait()

    async def _drain(self, proto: _Pipe, transport: asyncio.SubprocessTransport) -> None:
        """Wait for the end of output (bounded); release or park the transport."""
        if not proto.eof.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(proto.eof), self.drain_timeout)
        if proto.eof.done():
            transport.close()
            return
        proto.flush()
        proto.detached = True
        self._open.add(transport)
        log.debug("process %s exited but its output pipe stays open; detaching", proto)

    async def _end_group(self, pgid: int, proto: _Pipe) -> None:
        """SIGTERM the group, wait up to `kill_grace` for it to go, then SIGKILL what is left."""
        if not processes.signal_group(pgid, signal.SIGTERM):
            return
        deadline = time.monotonic() + self.kill_grace
        try:
            while time.monotonic() < deadline and processes.group_alive(pgid):
                await asyncio.sleep(0.02)
        finally:
            # Also reached when cancelled again mid-grace: never leave the group behind.
            processes.signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(proto.exited), self.kill_grace)

    async def cleanup(self) -> None:
        """End what this runner's processes left running: GitHub's orphan process cleanup.

        Like the runner, a process counts as the job's when it is in one of the process
        groups started here *or* its environment carries this runner's RUNNER_TRACKING_ID
        (which catches daemons that called setsid). A process may opt out the GitHub way by
        changing RUNNER_TRACKING_ID before it starts.
        """
        groups, self._groups = self._groups, set()
        pids = processes.job_processes(groups, self._tracking, self._since) if groups else []
        for pid in pids:
            processes.send_signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        while pids and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            pids = [pid for pid in pids if processes.alive(pid)]
        for pid in pids:
            processes.send_signal(pid, signal.SIGKILL)
        for transport in self._open:
            transport.close()
        self._open.clear()
        await self._release_guardian()


def _exit_code(returncode: int | None) -> int:
    """A shell-like code: -N (killed by signal N) becomes 128 + N."""
    if returncode is None:
        return 128 + signal.SIGKILL
    return 128 - returncode if returncode < 0 else returncode
