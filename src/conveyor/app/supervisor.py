"""Child-process supervision for `conveyor up`: start, wait until ready, restart, stop.

`Supervisor(run_dir)` starts each `ServiceSpec` as its own process group (output to a log
file), waits until it is ready (an HTTP URL answers below 500, or a TCP port accepts),
restarts a child that exits on its own (with backoff; a child that keeps crashing stops the
whole platform with its log's last lines), and on `stop_all()` stops the children in reverse
start order: SIGTERM to the group, then SIGKILL after a grace period.

Idempotent restarts: each child's pid and command line are recorded in
`run_dir/<name>.pid`; `start()` first kills a child left behind by a `conveyor up` that
died without cleaning up (same pid *and* same command line, so a recycled pid is never
touched). Children also get SIGTERM when the supervisor dies (Linux `PR_SET_PDEATHSIG`).

Called by `conveyor.app.cmd_up` only. Plain threads-free polling: the supervisor owns no
event loop, so it composes with anything its children run.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from conveyor.core.errors import ConveyorError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class SupervisorError(ConveyorError):
    """A child could not start, never became ready, or keeps crashing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """How to tell a child is ready: an HTTP URL (any status below 500) or a TCP port."""

    url: str = ""
    tcp: tuple[str, int] | None = None
    timeout: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready: Readiness = field(default_factory=Readiness)
    restart: bool = True
    stop_grace: float = 10.0


@dataclass(slots=True)
class Child:
    spec: ServiceSpec
    proc: subprocess.Popen[bytes]
    started: float
    restarts: int = 0
    crashes: list[float] = field(default_factory=list)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def probe(ready: Readiness) -> bool:
    """One readiness check; never raises."""
    try:
        if ready.url:
            parts = urllib.parse.urlsplit(ready.url)
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=1)
            try:
                conn.request("GET", parts.path or "/")
                return conn.getresponse().status < 500
            finally:
                conn.close()
        if ready.tcp is not None:
            with socket.create_connection(ready.tcp, timeout=1):
                return True
    except OSError:
        return False
    return True


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Supervisor:
    """Runs `ServiceSpec`s as supervised child processes (see the module docstring)."""

    def __init__(self, run_dir: Path, *, max_crashes: int = 5, crash_window: float = 60.0) -> None:
        self.run_dir = run_dir
        self.children: dict[str, Child] = {}
        self.max_crashes = max_crashes
        self.crash_window = crash_window
        run_dir.mkdir(parents=True, exist_ok=True)

    def start(self, spec: ServiceSpec) -> Child:
        """Start one child and wait until it is ready; raises `SupervisorError` otherwise."""
        self.kill_stale(spec.name)
        child = Child(spec=spec, proc=self._spawn(spec), started=time.monotonic())
        self.children[spec.name] = child
        self._wait_ready(child)
        return child

    def _spawn(self, spec: ServiceSpec) -> subprocess.Popen[bytes]:
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        out: IO[bytes] = spec.log.open("ab")
        try:
            proc = subprocess.Popen(
                spec.argv,
                env={**os.environ, **spec.env},
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches `up`, which stops children in order
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads in `up`
            )
        except OSError as exc:
            raise SupervisorError(f"{spec.name}: cannot start {spec.argv[0]}: {exc}") from exc
        finally:
            out.close()
        self._pidfile(spec.name).write_text(f"{proc.pid}\n{_cmdline_of(spec.argv)}\n")
        log.info("started %s (pid %d), log %s", spec.name, proc.pid, spec.log)
        return proc

    def _wait_ready(self, child: Child) -> None:
        spec = child.spec
        deadline = time.monotonic() + spec.ready.timeout
        while not probe(spec.ready):
            if child.proc.poll() is not None:
                raise SupervisorError(
                    f"{spec.name} exited with code {child.proc.returncode} while starting; "
                    f"last lines of {spec.log}:\n{tail(spec.log)}"
                )
            if time.monotonic() > deadline:
                self.stop(spec.name)
                raise SupervisorError(
                    f"{spec.name} was not ready after {spec.ready.timeout:.0f}s; "
                    f"last lines of {spec.log}:\n{tail(spec.log)}"
                )
            time.sleep(0.02)

    def check(self) -> list[str]:
        """Restart children that exited on their own; returns the names restarted."""
        restarted = []
        now = time.monotonic()
        for name, child in list(self.children.items()):
            code = child.proc.poll()
            if code is None or not child.spec.restart:
                continue
            child.crashes = [t for t in child.crashes if now - t < self.crash_window] + [now]
            if len(child.crashes) > self.max_crashes:
                raise SupervisorError(
                    f"{name} exited {len(child.crashes)} times within "
                    f"{self.crash_window:.0f}s (last code {code}); giving up. "
                    f"Last lines of {child.spec.log}:\n{tail(child.spec.log)}"
                )
            log.warning("%s exited with code %s; restarting", name, code)
            time.sleep(min(0.2 * 2 ** len(child.crashes), 5.0))
            fresh = Child(
                spec=child.spec,
                proc=self._spawn(child.spec),
                started=time.monotonic(),
                restarts=child.restarts + 1,
                crashes=child.crashes,
            )
            self.children[name] = fresh
            self._wait_ready(fresh)
            restarted.append(name)
        return restarted

    def stop(self, name: str) -> None:
        """SIGTERM the child's process group, SIGKILL after its grace period."""
        child = self.children.pop(name, None)
        if child is None:
            return
        _terminate(child.proc.pid, child.spec.stop_grace, child.proc.poll)
        child.proc.wait()
        self._pidfile(name).unlink(missing_ok=True)
        log.info("stopped %s", name)

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            self.stop(name)

    def kill_stale(self, name: str) -> bool:
        """Kill a child of an earlier `up` recorded in the pid file, if it still runs."""
        path = self._pidfile(name)
        try:
            pid_text, cmdline = path.read_text().split("\n")[:2]
            pid = int(pid_text)
        except (OSError, ValueError):
            return False
        path.unlink(missing_ok=True)
        if _read_cmdline(pid) != cmdline:
            return False
        log.warning("stopping %s (pid %d) left behind by an earlier run", name, pid)
        _terminate(pid, 5.0, lambda: None if _alive(pid) else 0)
        return True

    def _pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"


def _cmdline_of(argv: tuple[str, ...]) -> str:
    return "\0".join(argv)


def _read_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.rstrip(b"\0").decode(errors="replace")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _read_cmdline(pid) != ""  # a zombie has an empty cmdline


def _terminate(pid: int, grace: float, poll: Callable[[], int | None]) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if poll() is not None:
            return
