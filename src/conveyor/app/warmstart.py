"""Warm start: short commands run in a fork of a process that has already imported Conveyor.

Python spends ~110 ms of a one-step `conveyor run` importing asyncio, click, rich, PyYAML
and Conveyor itself; the run takes ~20 ms. So the console script (`app.entry`) first asks a
warm server (`app.warmserver`, one per user and code version) to fork a child that runs the
command with this process's argv, environment, working directory, umask and standard
streams (passed as file descriptors over a Unix socket). This process only forwards
signals (Ctrl-C reaches the run as it would in-process) and exits with the child's code.
The idea is Nailgun's, the Gradle daemon's and Android's zygote; fork gives every run a
fresh copy, so no state crosses from one run to the next.

When no server answers, `run` starts one in the background (`spawn`) for the next command
and `entry` runs this one in-process as before; the server exits after `IDLE_SECONDS`
without work, or as soon as the code or the interpreter it loaded changes (`state_key`).
`CONVEYOR_WARM=0` turns warm start off and `=1` on; unset, it is on except under CI
(`CI=true`, set by GitHub Actions, GitLab and Conveyor's own runners), where a server
outliving the job is unwelcome, as Gradle's daemon is. The socket lives in a 0700
directory owned by the user (`runtime_dir`); the server also checks the peer's uid.

Only `WARM_COMMANDS` (short-lived ones) go through it. This module is imported on every
start, so it uses only modules the interpreter has loaded before `main` (the C modules
`_socket` and `_signal` instead of `socket` and `signal`, which cost ~7 ms of enum set-up).
"""

import _socket
import marshal
import os
import stat
import sys

TYPE_CHECKING = False  # typing itself costs ~2 ms to import; mypy reads this name the same
if TYPE_CHECKING:
    from typing import Any

    _signal: Any = None
else:
    import _signal

WARM_COMMANDS = frozenset({"run", "lint", "expr"})
IDLE_SECONDS = 600.0
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)
PID, EXIT, STALE = b"P", b"X", b"S"
REPLY_SIZE = 5


def enabled(argv: list[str]) -> bool:
    """Whether `conveyor ARGV` may go through a warm server (see the module docstring)."""
    if command_name(argv) not in WARM_COMMANDS:
        return False
    setting = os.environ.get("CONVEYOR_WARM", "")
    if setting:
        return setting != "0"
    return os.environ.get("CI", "").lower() not in ("true", "1")


def runtime_dir() -> str | None:
    """The user's private directory for warm-server sockets, or None when it is not safe.

    `CONVEYOR_WARM_DIR`, else `$XDG_RUNTIME_DIR/conveyor`, else `/tmp/conveyor-warm-<uid>`;
    created 0700, and refused when another user owns it or others may enter it.
    """
    environ = os.environ
    base = environ.get("CONVEYOR_WARM_DIR") or (
        os.path.join(environ["XDG_RUNTIME_DIR"], "conveyor")
        if environ.get("XDG_RUNTIME_DIR")
        else f"/tmp/conveyor-warm-{os.getuid()}"
    )
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return base


def state_key() -> str:
    """What a warm server must share with its clients: interpreter, flags, code, locale.

    The code is the package's `.py` files (newest mtime, count, total size) and the
    site-packages directories (their mtimes change when a dependency is added or removed).
    """
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    newest = count = size = 0
    pending = [package]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                elif entry.name.endswith(".py"):
                    info = entry.stat()
                    newest = max(newest, info.st_mtime_ns)
                    count += 1
                    size += info.st_size
    sites = [(path, os.stat(path).st_mtime_ns) for path in sys.path if path.endswith("-packages")]
    settings = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(("PYTHON", "LC_")) or name in ("LANG", "LANGUAGE")
    )
    return repr(
        (sys.executable, sys.version, sys.flags, package, newest, count, size, sites, settings)
    )


def socket_path(directory: str, key: str) -> str:
    """The socket of the server for `key` (FNV-1a of the key; the server checks the whole key)."""
    digest = 0xCBF29CE484222325
    for byte in key.encode():
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(directory, f"warm-{digest:016x}.sock")


def command_name(argv: list[str]) -> str | None:
    """The subcommand in `argv` (after global options such as `--debug`)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def run(argv: list[str]) -> int | None:
    """Run `conveyor ARGV` in a warm child; its exit code, or None to run in-process.

    None means: warm start is off, not for this command, or no server answered; the
    caller then runs the command itself, and (in the last case) a server is started in
    the background for the next command (`spawn`, with the socket path computed here).
    """
    if not enabled(argv):
        return None
    directory = runtime_dir()
    if directory is None:
        return None
    key = state_key()
    path = socket_path(directory, key)
    code = None
    if all(s is not None for s in (sys.stdin, sys.stdout, sys.stderr)):
        code = _attempt(path, key, argv)
    if code is None:
        spawn(path)
    return code


def _attempt(path: str, key: str, argv: list[str]) -> int | None:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return _converse(sock, key, argv)
    except (OSError, EOFError):
        return None
    finally:
        sock.close()


def _converse(sock: _socket.socket, key: str, argv: list[str]) -> int | None:
    umask = os.umask(0o022)
    os.umask(umask)
    request = marshal.dumps(
        {
            "key": key,
            "argv": [sys.argv[0], *argv],
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "umask": umask,
            "limits": _limits(),
            "stdio": [(s.encoding, s.errors) for s in (sys.stdin, sys.stdout, sys.stderr)],
        }
    )
    message = len(request).to_bytes(4, "big") + request
    rights = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
    sent = sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    if sent < len(message):
        # never send an empty rest: a command that ended within microseconds has closed the
        # connection, the empty send fails with EPIPE, and falling back would run it twice
        sock.sendall(message[sent:])
    # no PID means the spare never started the command (it answers PID first), so an error
    # up to here may fall back to running in-process
    kind, pid = read_reply(sock)
    if kind != PID:
        return None  # STALE: that server runs other code; run in-process
    # from here on the command is running: never fall back (it would run twice)
    previous = {sig: _signal.signal(sig, _forwarder(pid)) for sig in FORWARDED}
    try:
        while True:
            try:
                kind, value = read_reply(sock)
            except (OSError, EOFError):
                sys.stderr.write("conveyor: the warm server went away during the command\n")
                return 1
            if kind == EXIT:
                return value
    finally:
        for sig, handler in previous.items():
            _signal.signal(sig, handler)


def _limits() -> list[tuple[int, int, int]]:
    """This process's resource limits (`ulimit`), for the child to take."""
    import resource

    found = []
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            number = getattr(resource, name)
            soft, hard = resource.getrlimit(number)
            found.append((number, soft, hard))
    return found


def _forwarder(pid: int) -> "Any":
    def forward(signum: int, _frame: object) -> None:
        try:  # noqa: SIM105 (contextlib costs ~5 ms to import)
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass

    return forward


def read_reply(sock: "Any") -> tuple[bytes, int]:
    """One (kind, value) reply: a kind byte and a signed 32-bit value."""
    data = b""
    while len(data) < REPLY_SIZE:
        chunk = sock.recv(REPLY_SIZE - len(data))
        if not chunk:
            raise EOFError("the warm server closed the connection")
        data += chunk
    return data[:1], int.from_bytes(data[1:], "big", signed=True)


def reply(kind: bytes, value: int) -> bytes:
    return kind + value.to_bytes(4, "big", signed=True)


#: what a warm server's own environment keeps of the first caller's; children take each
#: caller's whole environment, so tokens and secrets never sit in a long-lived process
SERVER_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "XDG_RUNTIME_DIR", "TZ")
SERVER_ENV_PREFIXES = ("PYTHON", "LC_", "CONVEYOR_WARM", "CONVEYOR_WORKFLOW_SCHEMA_DIR")


def server_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name in SERVER_ENV or name.startswith(SERVER_ENV_PREFIXES)
    }


def spawn(path: str) -> None:
    """Start a warm server on `path` in the background for the next command (best effort;
    a server already holding that path's lock makes the new one exit at once)."""
    log = path.removesuffix(".sock") + ".log"
    try:  # noqa: SIM105 (contextlib costs ~5 ms to import)
        os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "conveyor.app.warmserver", path],
            server_environment(),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
        )
    except OSError:
        pass  # no warm server: every command runs in-process, as before
