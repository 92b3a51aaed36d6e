"""Who a local job runs as, and where its files live (issue 12 #1).

The server's local runners (`ci.pool`) run each job in a child process (`ci.jobproc`) as an
unprivileged system user, `conveyor-job` by default, never as the server's own user: a job
must not read the server's key, tokens or database, nor the server's `/proc/<pid>` entries
(environ, mem), which Linux only shows to the same user or root. Work directories live
outside the data directory, in `work_root` (0711: traversable, not listable), one per job,
owned by the job user. The job user has its own home (caches, rootless Podman storage for
`docker/build-push-action`) and, for rootless Podman, a subordinate uid/gid range.

`LocalIsolation(mode="host")` is the explicit opt-in to the old behaviour: jobs run as the
server's user and can read everything it can (README, threat model).

`prepare()` needs root (it switches users); `ensure_user()` creates the user when missing
with `useradd --system`, the way a package's postinst would.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pwd
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from conveyor.ci.errors import CIError

log = logging.getLogger(__name__)

DEFAULT_USER = "conveyor-job"
_SUBID_SIZE = 65536
_SUBID_FIRST = 100000


class LocalMode(StrEnum):
    USER = "user"  # each job as the unprivileged job user (default)
    HOST = "host"  # as the server's own user: explicit opt-in, sees the server's files


@dataclass(frozen=True, slots=True, kw_only=True)
class JobUser:
    name: str
    uid: int
    gid: int
    home: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalIsolation:
    """How the local pool runs jobs: `mode`, the job user's name, the work root."""

    mode: LocalMode = LocalMode.USER
    user: str = DEFAULT_USER
    work_root: Path | None = None  # default: default_work_root(data_dir)


def default_work_root(data_dir: Path) -> Path:
    """`<tmp>/conveyor-work-<digest of the data dir>`: outside the data directory, and
    reachable by the job user (a data directory under a 0700 home would not be)."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"conveyor-work-{digest}"


def prepare_work_root(root: Path) -> Path:
    """Create the work root 0711 (the job user may enter its own job's folder, list none)."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o711)
    return root


def ensure_user(name: str) -> JobUser:
    """The job user, created (system user, own home, subordinate ids) when missing."""
    if os.geteuid() != 0:
        raise CIError(
            f"local jobs run as the unprivileged user {name!r}, which needs the server to run "
            "as root; start it as root, or pass --local-runner host to run jobs as the "
            "server's own user (they can then read its key, tokens and database)"
        )
    home = Path("/var/lib") / name
    # servers starting together (two test workers, two services) create the user once
    with _SETUP_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            argv = ["useradd", "--system", "--home-dir", str(home), "--shell", "/usr/sbin/nologin"]
            _run([*argv, name])
            entry = pwd.getpwnam(name)
            log.info("created the system user %s (uid %d) for local jobs", name, entry.pw_uid)
        user = JobUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=Path(entry.pw_dir))
        user.home.mkdir(parents=True, exist_ok=True)
        os.chown(user.home, user.uid, user.gid)
        user.home.chmod(0o700)
        for table in (Path("/etc/subuid"), Path("/etc/subgid")):
            _ensure_subids(table, name)
    return user


#: held while the job user and its subordinate ids are set up (root's own directory)
_SETUP_LOCK = Path("/var/lib/conveyor-jobuser.lock")


def _ensure_subids(table: Path, name: str) -> None:
    """Give `name` a subordinate id range (rootless Podman) after the last one in use."""
    lines = table.read_text().splitlines() if table.exists() else []
    end = _SUBID_FIRST
    for line in lines:
        parts = line.split(":")
        if len(parts) == 3 and parts[0] == name:
            return
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            end = max(end, int(parts[1]) + int(parts[2]))
    with table.open("a") as out:
        out.write(f"{name}:{end}:{_SUBID_SIZE}\n")


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CIError(f"cannot create the job user ({' '.join(argv)}): {done.stderr.strip()}")


def hand_over(path: Path, user: JobUser) -> None:
    """Make `path` and everything in it the job user's (symbolic links not followed)."""
    os.chown(path, user.uid, user.gid, follow_symlinks=False)
    for folder, dirs, files in os.walk(path):
        for item in (*dirs, *files):
            os.chown(Path(folder) / item, user.uid, user.gid, follow_symlinks=False)


_BOOT = "import runpy, site, sys; site.addsitedir(sys.argv.pop(1)); sys.argv[0] = 'conveyor'; "


def _reachable(path: Path, mode: int) -> bool:
    """Whether a user who is neither owner nor in the group may use `path` with `mode`
    bits of "other" (0o1 execute/traverse, 0o4 read), every parent directory traversable."""
    real = path.resolve()
    parents_ok = all(parent.stat().st_mode & 0o001 for parent in real.parents)
    return parents_ok and real.stat().st_mode & mode == mode


def interpreter(executable: str, site_dir: str) -> list[str]:
    """How the job user starts Python with Conveyor importable: the server's interpreter
    when the job user can run it, else the system's `python3.X` of the same version with
    the server's site directory added (the server's interpreter may live under root's
    0700 home, as with pyenv)."""
    if _reachable(Path(executable), 0o005):
        return [executable]

    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin"):
        candidate = Path(folder) / name
        if (
            candidate.exists()
            and _reachable(candidate, 0o005)
            and _reachable(Path(site_dir), 0o005)
        ):
            return [
                str(candidate),
                "-c",
                _BOOT + "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)",
                site_dir,
            ]
    raise CIError(
        f"the job user cannot run {executable} (a parent directory is closed to other users) "
        f"and no {name} in /usr/bin or /usr/local/bin is usable: install Conveyor where "
        "other users can read it, or pass --local-runner host"
    )


def conveyor_shim(folder: Path, python: list[str]) -> Path:
    """`<folder>/conveyor`, a launcher of the server's Conveyor the job user can run (steps
    call `conveyor promote`); returns `folder` for the job's PATH."""

    folder.mkdir(exist_ok=True)
    folder.chmod(0o755)  # (the server's umask is 077)
    shim = folder / "conveyor"
    command = " ".join(shlex.quote(part) for part in python)
    module = "conveyor.app" if len(python) > 1 else "-m conveyor.app"
    shim.write_text(f'#!/bin/sh\nexec {command} {module} "$@"\n')
    shim.chmod(0o755)
    return folder
