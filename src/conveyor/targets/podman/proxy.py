"""The Service data path: a small detached TCP proxy, `python -m conveyor.targets.podman.proxy DIR`.

It must keep serving while the reconciler restarts or is killed, so it is its own process
(started by `conveyor.targets.podman.routing.ProxyHandle`, in its own session) and knows
nothing but `DIR/routes.json`: listeners (`bind`, `port`) and their ready backends
(`[ip, port]`). The target replaces that file atomically and sends SIGHUP; the proxy also
re-reads it when its mtime changes (every 0.2 s). After each load it writes
`DIR/status.json` with the generation it serves and any listener it could not bind, so the
target knows when an old backend has left rotation. A lock on `DIR/lock` keeps it to one
proxy per directory. Connections are balanced round-robin;
a backend that refuses is skipped for the next one. Routes hold only READY replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.2
CONNECT_TIMEOUT = 1.0
COOL_DOWN = 2.0
NO_BACKEND_WAIT = 2.0


class Listener:
    """One bound address; `backends` is swapped in place on reload."""

    def __init__(self, bind: str, port: int) -> None:
        self.bind, self.port = bind, port
        self.backends: list[tuple[str, int]] = []
        self._turn = itertools.count()
        self.server: asyncio.Server | None = None
        self._cooling: dict[tuple[str, int], float] = {}

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, self.bind, self.port, reuse_address=True
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        waited = 0.0
        while upstream is None and waited < NO_BACKEND_WAIT:
            # No ready backend right now (a reload between the last old and the first new
            # replica, or backends slow to accept on a saturated host): hold the client
            # briefly instead of closing on it.
            await asyncio.sleep(0.05)
            waited += 0.05
            upstream = await self._connect()
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        backends = list(self.backends)
        if not backends:
            return None
        now = time.monotonic()
        # A backend that just refused or timed out is tried last for a while (passive
        # health), so one dead replica costs one slow connect, not one per request.
        start = next(self._turn)
        ordered = [backends[(start + i) % len(backends)] for i in range(len(backends))]
        ordered.sort(key=lambda b: self._cooling.get(b, 0.0) > now)
        for backend in ordered:
            with contextlib.suppress(OSError, TimeoutError):
                return await asyncio.wait_for(asyncio.open_connection(*backend), CONNECT_TIMEOUT)
            self._cooling[backend] = time.monotonic() + COOL_DOWN
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.close()


class Proxy:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.listeners: dict[tuple[str, int], Listener] = {}
        self.mtime = 0
        self.wake = asyncio.Event()

    async def load(self) -> None:
        path = self.root / "routes.json"
        try:
            stat = path.stat()
            routes: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        self.mtime = stat.st_mtime_ns
        wanted = {(str(e["bind"]), int(e["port"])): e for e in routes.get("listeners", [])}
        errors: dict[str, str] = {}
        for key in list(self.listeners):
            if key not in wanted:
                gone = self.listeners.pop(key)
                if gone.server is not None:
                    gone.server.close()
        for key, entry in wanted.items():
            listener = self.listeners.get(key)
            if listener is None:
                listener = Listener(*key)
                try:
                    await listener.start()
                except OSError as exc:
                    errors[f"{key[0]}:{key[1]}"] = exc.strerror or str(exc)
                    continue
                self.listeners[key] = listener
            listener.backends = [(str(h), int(p)) for h, p in entry.get("backends", [])]
        status = {"pid": os.getpid(), "generation": routes.get("generation", 0), "errors": errors}
        tmp = self.root / "status.tmp"
        tmp.write_text(json.dumps(status))
        tmp.replace(self.root / "status.json")

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.wake.set)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, sys.exit, 0)
        # Only now, with SIGHUP handled, announce ourselves: the target signals this pid.
        (self.root / "pid").write_text(str(os.getpid()))
        await self.load()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)
            woken = self.wake.is_set()
            self.wake.clear()
            with contextlib.suppress(OSError):
                if woken or (self.root / "routes.json").stat().st_mtime_ns != self.mtime:
                    await self.load()


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the loop handles it
    root = Path(argv[1])
    # One proxy per directory: a second one (two targets starting at once) just leaves.
    lock = os.open(root / "lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return
    asyncio.run(Proxy(root).run())


if __name__ == "__main__":
    main(sys.argv)
