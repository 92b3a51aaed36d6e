"""The target's side of the Service data path: start (or reuse) the proxy, publish routes.

`ProxyHandle.ensure()` starts `python -m conveyor.targets.podman.proxy DIR` detached (own
session, so a `kill -9` of the reconciler does not take it down) unless the pid in
`DIR/pid` is already that proxy. `publish()` atomically replaces `DIR/routes.json`, signals
the proxy, and waits until `DIR/status.json` shows the new generation: after that, a
backend left out of the routes receives no new connections and may be stopped.
Called by `conveyor.targets.podman.endpoints` and `.controller` (the routes it finds at
start-up); `stop()` is for tests and `conveyor down`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACK_TIMEOUT = 3.0
SPAWN_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Route:
    """One listening address and the ready backends behind it."""

    bind: str
    port: int
    backends: tuple[tuple[str, int], ...]


def _is_proxy(pid: int, root: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"conveyor.targets.podman.proxy" in argv and str(root).encode() in argv


class ProxyHandle:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.generation = int(self._read("routes.json").get("generation", 0))
        self.current: tuple[Route, ...] | None = None

    def _read(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self.root / name).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.root / "pid").read_text())
            if _is_proxy(pid, self.root):
                return pid
        return None

    def routed(self) -> set[tuple[str, int]]:
        """Backends in the routes now on disk (seeds readiness after a restart)."""
        return {
            (str(h), int(p))
            for entry in self._read("routes.json").get("listeners", [])
            for h, p in entry.get("backends", [])
        }

    def errors(self) -> dict[str, str]:
        return dict(self._read("status.json").get("errors", {}))

    def ensure(self) -> int:
        pid = self.pid()
        if pid is not None:
            return pid
        with (self.root / "spawn.lock").open("w") as guard:  # one spawner at a time
            fcntl.flock(guard, fcntl.LOCK_EX)
            return self.pid() or self._spawn()

    def _spawn(self) -> int:
        # posix_spawn with setsid: a process of its own session that outlives us, and no
        # Popen object whose finaliser would complain that it is still running.
        log = str(self.root / "proxy.log")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "conveyor.targets.podman.proxy", str(self.root)],
            dict(os.environ),
            setsid=True,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, log, flags, 0o600),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
        )
        deadline = time.monotonic() + SPAWN_TIMEOUT  # a loaded host starts Python slowly
        while time.monotonic() < deadline and self.pid() is None:
            time.sleep(0.01)
        return self.pid() or pid

    async def publish(self, routes: tuple[Route, ...]) -> None:
        """Replace the routes (if they changed) and wait for the proxy to serve them."""
        routes = tuple(sorted(routes))
        if routes == self.current and self.pid() is not None:
            return  # unchanged and still served (a dead proxy is started again below)
        self.generation += 1
        body = {
            "generation": self.generation,
            "listeners": [
                {"bind": r.bind, "port": r.port, "backends": [list(b) for b in r.backends]}
                for r in routes
            ],
        }
        tmp = self.root / "routes.tmp"
        tmp.write_text(json.dumps(body))
        tmp.replace(self.root / "routes.json")
        pid = self.ensure()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + ACK_TIMEOUT
        while time.monotonic() < deadline:
            if int(self._read("status.json").get("generation", -1)) >= self.generation:
                break
            await asyncio.sleep(0.01)
        self.current = routes

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)  # ours when this process started it: reap it
