"""Runs a job's processes in a sibling container of the runner's Kubernetes pod.

Chosen by `conveyor.workflow.run.sidecars` for a job with `container:` when the agent runs
with `--sibling-job-container` (`platform.Platform.job_container_control`): the pool made
the job container part of the pod (`conveyor.ci.kubepool_pods`), running the executor loop
of `runners.sibling_protocol`. Every `exec` writes one request into the shared control
directory and follows it: the output file is read as it grows and split into lines
(`runners.lines`), the exit code file ends it. A timeout asks the loop to SIGTERM the
request's processes, then (after `kill_grace`) to SIGKILL them; a cancelled `exec` asks for
SIGKILL, waits up to `kill_grace` for the code and re-raises. `cleanup()` stops the loop,
which ends the job container. The request's files (its script holds the step's secrets)
are deleted when the request ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.runners.base import ExecResult, OutputCallback, RunnerError
from conveyor.runners.lines import LineSplitter
from conveyor.runners.podman import container_environment
from conveyor.runners.sibling_protocol import READY, STOP, STOPPED, request_script

#: HOME of container jobs, as on GitHub (the pod mounts an emptyDir there).
CONTAINER_HOME = "/github/home"

_SUFFIXES = (".req.tmp", ".req", ".sh", ".out", ".pid", ".rc", ".rc.tmp", ".kill.tmp", ".kill")


class SiblingRunner:
    """The agent's side of the protocol, for one job (see the module docstring)."""

    def __init__(
        self,
        control: Path,
        *,
        image: str = "",
        env: Mapping[str, str] | None = None,
        host_path: str = "",
        start_timeout: float = 600.0,
        kill_grace: float = 1.0,
        interval: float = 0.05,
    ) -> None:
        self.control = control
        self.image = image  # named in errors only
        self.env = dict(env or {})  # the job container's `env:`, below each step's own
        self.host_path = host_path
        self.start_timeout = start_timeout
        self.kill_grace = kill_grace
        self.interval = interval
        self._ids = itertools.count(1)
        self._tag = uuid.uuid4().hex[:8]
        self._ready = False
        self._has_bash = False
        self._stopped = False

    async def exec(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        timeout: float | None,
        on_output: OutputCallback,
    ) -> ExecResult:
        """Run `argv` in the job container with the container's `env:` under exactly the
        step's `env` (host-only variables dropped, the host's PATH tail replaced by the
        standard PATH, HOME /github/home); the default shell `bash -e` becomes `sh -e` in an
        image without bash."""
        await self.wait_ready()
        started = time.monotonic()
        rid = f"{next(self._ids):05d}-{self._tag}"
        command = list(argv)
        if command[:2] == ["bash", "-e"] and not self._has_bash:
            command[0] = "sh"  # the default shell falls back to sh, as GitHub does
        step_env = container_environment(env, host_path=self.host_path, home=CONTAINER_HOME)
        script = request_script(command, env={**self.env, **step_env}, cwd=cwd)
        staged = self.control / f"{rid}.req.tmp"
        staged.write_text(script)
        staged.rename(self.control / f"{rid}.req")
        follower = _Follower(self.control / f"{rid}.out", on_output)
        try:
            code, timed_out = await self._follow(rid, follower, timeout)
        except asyncio.CancelledError:
            await self._abandon(rid, follower)  # the output up to the kill still streams
            raise
        except Exception:  # `on_output` failed: end the process, then surface the cause
            await self._abandon(rid, _Follower(follower.path, _drop))
            raise
        self._forget(rid)
        return ExecResult(exit_code=code, timed_out=timed_out, duration=time.monotonic() - started)

    async def _follow(
        self, rid: str, follower: _Follower, timeout: float | None
    ) -> tuple[int, bool]:
        """(exit code, timed out): TERM at the timeout, KILL `kill_grace` later."""
        try:
            return await asyncio.wait_for(self._code(rid, follower), timeout), False
        except TimeoutError:
            pass
        self._kill(rid, "TERM")
        try:
            return await asyncio.wait_for(self._code(rid, follower), self.kill_grace), True
        except TimeoutError:
            pass
        self._kill(rid, "KILL")
        return await self._code(rid, follower), True

    async def _code(self, rid: str, follower: _Follower) -> int:
        """Stream output until the loop wrote the request's exit code; the code."""
        done = self.control / f"{rid}.rc"
        while True:
            finished = done.exists()  # checked first: output written before it is complete
            follower.read()
            if finished:
                follower.close()
                text = done.read_text().strip()
                return int(text) if text.isdigit() else 1
            await asyncio.sleep(self.interval)

    async def _abandon(self, rid: str, follower: _Follower) -> None:
        """SIGKILL the request's processes, wait up to `kill_grace` for its code, forget it."""
        self._kill(rid, "KILL")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._code(rid, follower), self.kill_grace)
        self._forget(rid)

    def _kill(self, rid: str, signal: str) -> None:
        staged = self.control / f"{rid}.kill.tmp"
        staged.write_text(f"{signal}\n")
        staged.rename(self.control / f"{rid}.kill")

    def _forget(self, rid: str) -> None:
        for suffix in _SUFFIXES:
            (self.control / f"{rid}{suffix}").unlink(missing_ok=True)

    async def wait_ready(self) -> None:
        """Wait until the job container's loop runs (its container may start after the
        agent's: the kubelet pulls its image first); `RunnerError` after `start_timeout`."""
        if self._ready:
            return
        deadline = time.monotonic() + self.start_timeout
        while not (self.control / READY).exists():
            if time.monotonic() > deadline:
                raise RunnerError(
                    f"the job container{_of(self.image)} did not start its executor within "
                    f"{self.start_timeout:g} s (no {self.control / READY}); the image needs "
                    "/bin/sh, and the pod's events say whether it could be pulled"
                )
            await asyncio.sleep(self.interval)
        self._has_bash = (self.control / READY).read_text().strip() == "bash"
        self._ready = True

    async def cleanup(self, *, wait: float = 5.0) -> None:
        """Stop the loop (what still runs in the job container is killed), once; waits up
        to `wait` s for it to say it stopped."""
        if self._stopped or not (self.control / READY).exists():
            self._stopped = True
            return
        self._stopped = True
        (self.control / STOP).touch()
        deadline = time.monotonic() + wait
        while not (self.control / STOPPED).exists() and time.monotonic() < deadline:
            await asyncio.sleep(self.interval)


class _Follower:
    """Reads a growing output file and hands complete lines on."""

    def __init__(self, path: Path, on_output: OutputCallback) -> None:
        self.path = path
        self.on_output = on_output
        self.offset = 0
        self.lines = LineSplitter()

    def read(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return  # the loop has not started the request yet
        self.offset += len(data)
        for line in self.lines.feed(data):
            self.on_output(line)

    def close(self) -> None:
        for line in self.lines.close():
            self.on_output(line)


def _of(image: str) -> str:
    return f" ({image})" if image else ""


def _drop(line: str) -> None:
    del line
