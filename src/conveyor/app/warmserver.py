"""The warm server: a process that has imported Conveyor and forks one child per command.

Started by `warmstart.spawn` as `python -m conveyor.app.warmserver SOCKET_PATH` (in its own
session, output to SOCKET_PATH's `.log`). It imports what short commands need (`WARM`)
and GitHub's workflow schema, freezes those objects out of the collector's sight (children
share the pages), then serves `warmstart.run` clients on the Unix socket:

- a request carries argv, cwd, environment, umask, stdio encodings and fds 0-2; the server
  answers `STALE` and exits when the request's `state_key` is not its own, else forks;
- the child becomes a process group of its own, takes the client's fds, directory,
  environment and umask, runs the CLI and exits with its code (never returning into this
  loop; the server's atexit handlers are not the child's);
- the server watches each child through a pidfd and sends its exit code (128+N for
  signal N) to the client; when a client goes away (killed), its child gets SIGINT, so
  the run is cancelled and cleans up as on Ctrl-C rather than left running unobserved.

It exits after `IDLE_SECONDS` without a child, when its key no longer matches the code on
disk, or on SIGTERM; a second server for the same socket exits at once (an flock).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import io
import marshal
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from conveyor.app import warmstart

#: modules a short command imports lazily; a child imports nothing the server lacks
#: (tests/app/test_warmstart.py checks that list against a real run)
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
MAX_REQUEST = 1 << 22


@dataclass(slots=True)
class Child:
    pid: int
    pidfd: int
    conn: socket.socket


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
    preload()
    server = WarmServer(path, key, lock)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        server.serve()
    finally:
        server.close()


def preload() -> None:
    """Import `WARM`, read GitHub's schemas, rehearse a run, and hide it all from the
    collector (children then share these pages and never scan them)."""
    import importlib

    for name in WARM:
        importlib.import_module(name)
    from conveyor.core.errors import UserError
    from conveyor.workflow.schema.definitions import ACTION_SCHEMA, WORKFLOW_SCHEMA, load_schema

    with contextlib.suppress(UserError):  # no schema: the child reports it
        load_schema(WORKFLOW_SCHEMA)
        load_schema(ACTION_SCHEMA)
    rehearse()
    gc.collect()
    gc.freeze()


REHEARSAL = """\
on: push
jobs:
  warm:
    runs-on: ubuntu-latest
    env:
      GREETING: ${{ github.event_name }}
    steps:
      - run: echo "$GREETING"
        if: ${{ success() && github.ref != '' }}
"""


def rehearse() -> None:
    """Run a one-step workflow in a scratch repository, output discarded.

    A command's first run in a process pays for lazy imports, compiled regular expressions
    and expression caches (~25 ms); rehearsing here makes every child's run a second run.
    Problems are logged and ignored: children then simply do that work themselves.
    """
    import subprocess
    import tempfile

    from conveyor.app.cli import main as cli_main

    with tempfile.TemporaryDirectory(prefix="conveyor-warm-") as scratch:
        repo = Path(scratch)
        (repo / ".github" / "workflows").mkdir(parents=True)
        (repo / ".github" / "workflows" / "warm.yml").write_text(REHEARSAL, encoding="utf-8")
        identity = ["-c", "user.name=conveyor", "-c", "user.email=warm@conveyor.invalid"]
        for git in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "warm"]):
            subprocess.run(["git", *git], cwd=repo, check=False, capture_output=True)
        # runs, caches and actions of the rehearsal stay in the scratch directory
        os.environ["CONVEYOR_HOME"] = str(repo / ".conveyor-home")
        with (
            Path(os.devnull).open("w") as sink,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            try:
                cli_main(["run", "push", "-C", str(repo)])
            except SystemExit as exc:
                if exc.code:
                    print(f"warm server: rehearsal exited {exc.code}", file=sys.__stderr__)


class WarmServer:
    """The accept/fork/reap loop (see the module docstring)."""

    def __init__(self, path: str, key: str, lock: TextIO) -> None:
        self.path, self.key, self.lock = path, key, lock
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, Child] = {}  # by pidfd
        self.running = True
        self.modules = frozenset(sys.modules)
        temporary = Path(f"{path}.{os.getpid()}")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        temporary.unlink(missing_ok=True)
        self.listener.bind(str(temporary))
        temporary.chmod(0o600)
        temporary.replace(path)
        self.inode = Path(path).stat().st_ino
        self.listener.listen(64)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")

    def stop(self) -> None:
        self.running = False

    def serve(self) -> None:
        last_work = checked = time.monotonic()
        while self.running or self.children:
            for item, _ in self.selector.select(timeout=1.0):
                if item.data == "accept":
                    self.accept()
                elif isinstance(item.data, Child):
                    self.hang_up(item.data)
                else:
                    self.reap(self.children[item.data])
            now = time.monotonic()
            if self.children:
                last_work = now
            elif now - last_work > _idle_seconds():
                self.running = False
            if now - checked > CHECK_EVERY:
                checked = now
                if warmstart.state_key() != self.key or not self._still_ours():
                    self.running = False
            if not self.running and self.listener.fileno() >= 0:
                self.selector.unregister(self.listener)
                self.close_listener()

    def _still_ours(self) -> bool:
        try:
            return Path(self.path).stat().st_ino == self.inode
        except OSError:
            return False

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            request, fds = _receive(conn)
        except (OSError, EOFError, ValueError) as exc:
            print(f"warm server: bad request: {exc}", file=sys.stderr, flush=True)
            conn.close()
            return
        try:
            if request.get("key") != self.key:
                conn.sendall(warmstart.reply(warmstart.STALE, 0))
                conn.close()
                self.running = False
                return
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                self._become_child(request, fds, conn)
            pidfd = os.pidfd_open(pid)
            child = Child(pid=pid, pidfd=pidfd, conn=conn)
            self.children[pidfd] = child
            self.selector.register(pidfd, selectors.EVENT_READ, pidfd)
            self.selector.register(conn, selectors.EVENT_READ, child)
            conn.sendall(warmstart.reply(warmstart.PID, pid))
        except OSError as exc:
            print(f"warm server: {exc}", file=sys.stderr, flush=True)
        finally:
            for fd in fds:
                os.close(fd)

    def hang_up(self, child: Child) -> None:
        """The client wrote or closed: it went away; cancel its command as Ctrl-C would."""
        try:
            data = child.conn.recv(1)
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(child.conn)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGINT)

    def reap(self, child: Child) -> None:
        _, status = os.waitpid(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.selector.unregister(child.pidfd)
        os.close(child.pidfd)
        del self.children[child.pidfd]
        with contextlib.suppress(KeyError):
            self.selector.unregister(child.conn)
        with contextlib.suppress(OSError):
            child.conn.sendall(warmstart.reply(warmstart.EXIT, code if code >= 0 else 128 - code))
        child.conn.close()

    def close_listener(self) -> None:
        if self._still_ours():
            with contextlib.suppress(OSError):
                Path(self.path).unlink()
        self.listener.close()

    def close(self) -> None:
        if self.listener.fileno() >= 0:
            self.close_listener()
        self.selector.close()

    def _become_child(self, request: dict[str, Any], fds: list[int], conn: socket.socket) -> None:
        """In the forked child: take the client's world, run the CLI, exit. Never returns."""
        code = 1
        try:
            os.setpgid(0, 0)
            self.listener.close()
            self.selector.close()
            self.lock.close()
            conn.close()
            for child in self.children.values():
                os.close(child.pidfd)
                child.conn.close()
            code = run_child(request, fds, self.modules)
        finally:
            os._exit(code)


def _idle_seconds() -> float:
    try:
        return float(os.environ.get("CONVEYOR_WARM_IDLE", warmstart.IDLE_SECONDS))
    except ValueError:
        return warmstart.IDLE_SECONDS


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    peer = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", peer)
    if uid != os.getuid():
        raise ValueError(f"peer uid {uid} is not ours")
    conn.settimeout(10.0)
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    try:
        if len(fds) != 3:
            raise ValueError(f"expected 3 file descriptors, got {len(fds)}")
        while len(data) < 4:
            data += _more(conn)
        size = int.from_bytes(data[:4], "big")
        if size > MAX_REQUEST:
            raise ValueError(f"request of {size} bytes")
        while len(data) < 4 + size:
            data += _more(conn)
        request = marshal.loads(data[4 : 4 + size])
        if not isinstance(request, dict):
            raise ValueError("request is not a mapping")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    conn.settimeout(None)
    return request, fds


def _more(conn: socket.socket) -> bytes:
    chunk = conn.recv(1 << 16)
    if not chunk:
        raise EOFError("client closed the connection mid-request")
    return chunk


#: the server's own standard streams, kept alive in a child so that their (closing)
#: finalizers never run on the descriptors the child took over
_SERVER_STREAMS: list[object] = []


def run_child(request: dict[str, Any], fds: list[int], modules: frozenset[str]) -> int:
    """Set up the client's process state, run `conveyor ARGV`, return the exit code."""
    started = time.perf_counter()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    _take_limits(request.get("limits", ()))
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.argv = list(request["argv"])
    _SERVER_STREAMS.extend((sys.stdin, sys.stdout, sys.stderr))
    (in_enc, in_err), (out_enc, out_err), (err_enc, err_err) = request["stdio"]
    sys.stdin = _stream(0, "r", in_enc, in_err)
    sys.stdout = _stream(1, "w", out_enc, out_err)
    sys.stderr = _stream(2, "w", err_enc, err_err)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    atexit._clear()
    gc.enable()
    code = _run_cli(sys.argv[1:])
    atexit._run_exitfuncs()
    _trace(modules, time.perf_counter() - started)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _take_limits(limits: list[tuple[int, int, int]]) -> None:
    """The client's `ulimit`s; one that cannot be set (raising a hard limit) stays as is."""
    for number, soft, hard in limits:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(number, (soft, hard))


def _run_cli(args: list[str]) -> int:
    from conveyor.app.cli import main as cli_main

    try:
        cli_main(args)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:  # cli.main reports everything; this is the very last line
        import traceback

        traceback.print_exc()
        return 1
    return 0


def _stream(fd: int, mode: str, encoding: str, errors: str) -> TextIO:
    tty = os.isatty(fd)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered, encoding=encoding, errors=errors, line_buffering=tty or fd == 2
    )


def _trace(modules: frozenset[str], seconds: float) -> None:
    """With CONVEYOR_WARM_TRACE=FILE, record the child's pid, the modules it had to import
    and how long the command took in it."""
    target = os.environ.get("CONVEYOR_WARM_TRACE")
    if target:
        added = sorted(set(sys.modules) - modules)
        with Path(target).open("a", encoding="utf-8") as out:
            record = {"pid": os.getpid(), "imported": added, "seconds": round(seconds, 4)}
            out.write(repr(record) + "\n")


if __name__ == "__main__":
    main()
