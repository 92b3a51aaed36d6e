"""Podman's event stream as a wake-up call for the controller (drift without polling).

`EventWatch` runs `podman events --format json` filtered to this target's label and calls
`on_event` for each container event (a container died, was removed, paused, started …), so
drift by hand is noticed at once; the controller's slow idle poll stays as the bound when
the stream is not running. The child gets PR_SET_PDEATHSIG, so a `kill -9` of the
reconciler does not leave a `podman events` behind. Started and stopped by
`conveyor.targets.podman.controller.Controller`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import signal
from collections.abc import Callable

from conveyor.clients.podman import Podman
from conveyor.targets.podman import names

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
RESTART_DELAY = 1.0


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class EventWatch:
    def __init__(self, podman: Podman, target: str, on_event: Callable[[str], None]) -> None:
        self.podman = podman
        self.target = target
        self.on_event = on_event
        self.streaming = False
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="podman-target-events")

    async def stop(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        argv = self.podman.argv(
            "events",
            "--format",
            "json",
            "--filter",
            "type=container",
            "--filter",
            f"label={names.TARGET_LABEL}={self.target}",
        )
        while True:
            try:
                await self._stream(argv)
            except OSError as exc:
                log.warning("podman events unavailable (%s); polling instead", exc)
            self.streaming = False
            await asyncio.sleep(RESTART_DELAY)

    async def _stream(self, argv: list[str]) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(self.podman.env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        assert self._proc.stdout is not None
        self.streaming = True
        async for line in self._proc.stdout:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                self.on_event(str(event.get("Status", "")))
        await self._proc.wait()
