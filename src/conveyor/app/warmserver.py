"""The warm server: a process that has imported Conveyor and keeps a forked spare ready.

Started by `warmstart.spawn` as `python -m conveyor.app.warmserver SOCKET_PATH` (in its own
session, output to SOCKET_PATH's `.log`). It imports what short commands need (`WARM`),
reads GitHub's workflow schemas, rehearses a run in a scratch repository
(`warmchild.rehearse`) and freezes it all out of the collector's sight; then:

- it forks a *spare*: a process group of its own that rehearses once more (taking the
  page faults a fork's first run costs) and waits in `accept` on the listening socket;
- the spare that takes a client checks the request's `state_key` (on a mismatch it answers
  `STALE` and the server stops), answers `PID`, hands the server a copy of the connection,
  and becomes the command (`warmchild.run_child`), which sends `EXIT` itself;
- the server forks the next spare once no command younger than `SPARE_DELAY` runs (so a
  rehearsal never competes with a short command for the CPU), watches every process
  through a pidfd, sends `EXIT` (128+N for signal N) when a command dies without sending
  it, and SIGINTs the command of a client that went away (cancelled as on Ctrl-C).

It exits after `IDLE_SECONDS` without a command, when its key no longer matches the code
on disk, when spares keep dying, or on SIGTERM; a second server for the same socket exits
at once (an flock).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import select
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from conveyor.app import warmchild, warmstart

#: modules a short command imports lazily; a child imports nothing the server lacks
#: (tests/app/test_warmstart.py checks that against a real run)
WARM = (
    "conveyor.app.cli",
    "conveyor.app.cmd_run",
    "conveyor.app.cmd_lint",
    "conveyor.app.cmd_expr",
    "conveyor.runners.host",
    "conveyor.workflow.run.console",
    "conveyor.workflow.run.engine",
    "conveyor.workflow.run.masking",
    "conveyor.workflow.run.rundir",
    "conveyor.workflow.run.session",
)
CHECK_EVERY = 30.0
SPARE_DELAY = 0.25
MAX_SPARE_DEATHS = 3  # per minute, before the server gives up


@dataclass(slots=True, kw_only=True)
class Forked:
    """A spare (`control` set: it reports taking a client there) or a command (`conn` set)."""

    pid: int
    pidfd: int
    control: socket.socket | None = None
    conn: socket.socket | None = None
    started: float = field(default_factory=time.monotonic)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m conveyor.app.warmserver SOCKET_PATH")
    path = args[0]
    lock = Path(path.removesuffix(".sock") + ".lock").open("a+")  # noqa: SIM115 (held for life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server has this socket
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    key = warmstart.state_key()
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-warm-"))
    try:
        preload(warmchild.make_scratch(scratch))
        server = WarmServer(path, key, lock, scratch / "repo")
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
        try:
            server.serve()
        finally:
            server.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def preload(scratch: Path) -> None:
    """Import `WARM`, read GitHub's schemas, rehearse a run, and hide it all from the
    collector (forks then share these pages and never scan them)."""
    import importlib

    for name in WARM:
        importlib.import_module(name)
    from conveyor.core.errors import UserError
    from conveyor.workflow.schema.definitions import ACTION_SCHEMA, WORKFLOW_SCHEMA, load_schema

    with contextlib.suppress(UserError):  # no schema: the child reports it
        load_schema(WORKFLOW_SCHEMA)
        load_schema(ACTION_SCHEMA)
    warmchild.rehearse(scratch)
    _render_for_a_terminal()
    gc.collect()
    gc.freeze()


def _render_for_a_terminal() -> None:
    """The rehearsal's output is no terminal: render the coloured summary table once, so
    rich and its lazily imported parts are loaded too."""
    import io

    from conveyor.app.summary_table import print_table
    from conveyor.workflow.run.console import Console, SummaryRow

    Console(io.StringIO(), color=True, table=print_table).summary(
        [SummaryRow(job="warm/warm", result="success", duration=0.01)]
    )


class WarmServer:
    """The spare/command supervision loop (see the module docstring)."""

    def __init__(self, path: str, key: str, lock: TextIO, scratch: Path) -> None:
        self.path, self.key, self.lock, self.scratch = path, key, lock, scratch
        self.selector = selectors.DefaultSelector()
        self.forked: dict[int, Forked] = {}  # by pid
        self.deaths: list[float] = []
        self.running = True
        self.last_work = time.monotonic()
        self.modules = frozenset(sys.modules)
        temporary = Path(f"{path}.{os.getpid()}")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        temporary.unlink(missing_ok=True)
        self.listener.bind(str(temporary))
        temporary.chmod(0o600)
        temporary.replace(path)
        self.inode = Path(path).stat().st_ino
        self.listener.listen(64)

    def stop(self) -> None:
        self.running = False

    def serve(self) -> None:
        checked = time.monotonic()
        while self.running or self.forked:
            wait = 1.0
            if self.running and not self._spares():
                wait = 0.05 if not self._fork_spare() else 1.0
            for item, _ in self.selector.select(timeout=wait):
                kind, pid = item.data
                forked = self.forked.get(pid)
                if forked is None:
                    continue
                if kind == "control":
                    self._taken(forked)
                elif kind == "exit":
                    self._reap(forked)
                else:
                    self._hang_up(forked)
            now = time.monotonic()
            if self._commands():
                self.last_work = now
            elif now - self.last_work > _idle_seconds():
                self.running = False
            if now - checked > CHECK_EVERY:
                checked = now
                if warmstart.state_key() != self.key or not self._still_ours():
                    self.running = False
            if not self.running:
                self._wind_down()

    def _spares(self) -> list[Forked]:
        return [f for f in self.forked.values() if f.control is not None]

    def _commands(self) -> list[Forked]:
        return [f for f in self.forked.values() if f.conn is not None]

    def _fork_spare(self) -> bool:
        """Fork a spare unless a young command runs (it would compete for the CPU)."""
        now = time.monotonic()
        if any(now - f.started < SPARE_DELAY for f in self._commands()):
            return False
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            self._spare(theirs)  # never returns
        theirs.close()
        forked = Forked(pid=pid, pidfd=os.pidfd_open(pid), control=ours)
        self.forked[pid] = forked
        self.selector.register(forked.pidfd, selectors.EVENT_READ, ("exit", pid))
        self.selector.register(ours, selectors.EVENT_READ, ("control", pid))
        return True

    def _taken(self, forked: Forked) -> None:
        """A spare reports: it took a client (with a copy of the connection) or was stale."""
        assert forked.control is not None
        try:
            message, fds, _, _ = socket.recv_fds(forked.control, 16, 1)
        except OSError:
            message, fds = b"", []
        self.selector.unregister(forked.control)
        forked.control.close()
        forked.control = None
        if message == b"S":
            self.running = False
        if fds:
            forked.conn = socket.socket(fileno=fds[0])
            forked.started = self.last_work = time.monotonic()
            self.selector.register(forked.conn, selectors.EVENT_READ, ("client", forked.pid))

    def _reap(self, forked: Forked) -> None:
        _, status = os.waitpid(forked.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.selector.unregister(forked.pidfd)
        os.close(forked.pidfd)
        del self.forked[forked.pid]
        if forked.control is not None:  # a spare died before any client came
            self.selector.unregister(forked.control)
            forked.control.close()
            if self.running:
                self._spare_died(code)
        if forked.conn is not None:  # normally the command has sent EXIT itself already
            with contextlib.suppress(KeyError):
                self.selector.unregister(forked.conn)
            with contextlib.suppress(OSError):
                forked.conn.sendall(
                    warmstart.reply(warmstart.EXIT, code if code >= 0 else 128 - code)
                )
            forked.conn.close()
            self.last_work = time.monotonic()

    def _spare_died(self, code: int) -> None:
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t < 60] + [now]
        print(f"warm server: a spare exited ({code}) before any client", file=sys.stderr)
        if len(self.deaths) >= MAX_SPARE_DEATHS:
            print("warm server: spares keep dying; stopping", file=sys.stderr, flush=True)
            self.running = False

    def _hang_up(self, forked: Forked) -> None:
        """The client closed: cancel its command as Ctrl-C would, unless it has ended."""
        assert forked.conn is not None
        try:
            data = forked.conn.recv(1)
        except OSError:
            data = b""
        if data:
            return
        self.selector.unregister(forked.conn)
        ended, _, _ = select.select([forked.pidfd], [], [], 0)
        if not ended:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(forked.pid, signal.SIGINT)

    def _wind_down(self) -> None:
        """Stop taking clients: remove the socket, end the spares; commands run to the end."""
        if self.listener.fileno() >= 0:
            self._close_listener()
        for spare in self._spares():
            with contextlib.suppress(ProcessLookupError):
                os.kill(spare.pid, signal.SIGTERM)

    def _still_ours(self) -> bool:
        try:
            return Path(self.path).stat().st_ino == self.inode
        except OSError:
            return False

    def _close_listener(self) -> None:
        if self._still_ours():
            with contextlib.suppress(OSError):
                Path(self.path).unlink()
        self.listener.close()

    def close(self) -> None:
        if self.listener.fileno() >= 0:
            self._close_listener()
        self.selector.close()

    def _spare(self, control: socket.socket) -> None:
        """In a forked spare: rehearse, take one client, become its command. Never returns."""
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.setpgid(0, 0)
            self.selector.close()
            self.lock.close()
            for other in self.forked.values():
                os.close(other.pidfd)
                for sock in (other.control, other.conn):
                    if sock is not None:
                        sock.close()
            warmchild.rehearse(self.scratch)
            code = self._serve_one(control)
        finally:
            os._exit(code)

    def _serve_one(self, control: socket.socket) -> int:
        while True:
            conn, _ = self.listener.accept()
            try:
                request, fds = warmchild.receive(conn)
            except (OSError, EOFError, ValueError) as exc:
                print(f"warm server: bad request: {exc}", file=sys.stderr, flush=True)
                conn.close()
                continue
            break
        self.listener.close()
        if request.get("key") != self.key:
            conn.sendall(warmstart.reply(warmstart.STALE, 0))
            control.send(b"S")
            return 0
        conn.sendall(warmstart.reply(warmstart.PID, os.getpid()))
        socket.send_fds(control, [b"T"], [conn.fileno()])
        control.close()
        return warmchild.run_child(request, fds, conn, self.modules)


def _idle_seconds() -> float:
    try:
        return float(os.environ.get("CONVEYOR_WARM_IDLE", warmstart.IDLE_SECONDS))
    except ValueError:
        return warmstart.IDLE_SECONDS


if __name__ == "__main__":
    main()
