"""What happens inside the warm server's forked processes (see `app.warmserver`).

`receive` reads a client's request (argv, cwd, environment, umask, limits, stdio encodings)
and its fds 0-2; `rehearse` runs a one-step workflow in the server's scratch repository
with the output discarded, so a spare process has paid for first-run costs (lazy imports,
caches, and the copy-on-write page faults a forked process takes on its first run: ~10 ms)
before a client arrives; `run_child` gives the process the client's world, runs the CLI,
reports the exit code to the client itself and returns it for `os._exit`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import marshal
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from conveyor.app import warmstart

MAX_REQUEST = 1 << 22

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


def receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request on `conn` and the three fds sent with it (only from our own uid)."""
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


def make_scratch(directory: Path) -> Path:
    """A Git repository with the rehearsal workflow, for the server's lifetime."""
    repo = directory / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "warm.yml").write_text(REHEARSAL, encoding="utf-8")
    identity = ["-c", "user.name=conveyor", "-c", "user.email=warm@conveyor.invalid"]
    commands = (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", *identity, "commit", "-q", "-m", "warm"],
    )
    for argv in commands:
        subprocess.run(argv, cwd=repo, check=False, capture_output=True)
    return repo


def rehearse(scratch: Path) -> None:
    """Run the rehearsal workflow in `scratch`, output discarded, runs kept out of the
    user's CONVEYOR_HOME. Problems are logged and ignored: a child then does that work."""
    from conveyor.app.cli import run as cli_run

    home = scratch.parent / f"home-{os.getpid()}"
    os.environ["CONVEYOR_HOME"] = str(home)
    try:
        with (
            Path(os.devnull).open("w") as sink,
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            code = cli_run(["run", "push", "-C", str(scratch)])
        if code:
            print(f"warm server: rehearsal exited {code}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


#: the server's own standard streams, kept alive in a child so that their (closing)
#: finalizers never run on the descriptors the child took over
_SERVER_STREAMS: list[object] = []


def run_child(
    request: dict[str, Any], fds: list[int], conn: socket.socket, modules: frozenset[str]
) -> int:
    """Take the client's process state, run `conveyor ARGV`, send and return the exit code."""
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
    # the client may go now (this process's teardown is not its wait); a SIGINT the server
    # sends when it sees the client close must not interrupt the last steps to os._exit
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        conn.sendall(warmstart.reply(warmstart.EXIT, code))
    return code


def _take_limits(limits: list[tuple[int, int, int]]) -> None:
    """The client's `ulimit`s; one that cannot be set (raising a hard limit) stays as is."""
    for number, soft, hard in limits:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(number, (soft, hard))


def _run_cli(args: list[str]) -> int:
    """The exit code of `conveyor ARGS`, computed as the console script computes it."""
    from conveyor.app.cli import run as cli_run

    try:
        return cli_run(args)
    except BaseException:  # --debug re-raises; the interpreter would print it and exit 1
        import traceback

        traceback.print_exc()
        return 1


def _stream(fd: int, mode: str, encoding: str, errors: str) -> TextIO:
    tty = os.isatty(fd)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    line_buffering = tty or fd == 2
    return io.TextIOWrapper(
        buffered, encoding=encoding, errors=errors, line_buffering=line_buffering
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
