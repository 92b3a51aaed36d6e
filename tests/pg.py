"""A throwaway PostgreSQL cluster for the tests that run the stores on PostgreSQL.

Loaded for the whole suite by `pytest_plugins` in tests/conftest.py, so there is one
`pg_cluster` per test session — one per pytest-xdist worker, since each worker is its own
session (`make test` runs `-n 2`: two small clusters, ~1 s each, on their own ports and
directories). Each test that asks for `pg_url` gets a fresh database in that cluster, dropped
after it.

The cluster is Debian's server programs from /usr/lib/postgresql/<major>/bin (the
`postgresql` package that scripts/install-system.sh installs): `initdb` into a temporary
directory, `pg_ctl start` on a free 127.0.0.1 port with trust authentication and durability
off (the data is thrown away), `pg_ctl stop -m immediate` at session end. PostgreSQL refuses
to run as root, so as root it runs as the `postgres` system user, in a directory that user
owns.

Without the programs the PostgreSQL tests skip, saying how to install them — except under CI
(`CI` set) or as root (where `make test` installs the package), where they fail instead: CI
can never skip them silently.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

INSTALL_HINT = (
    "install Debian's PostgreSQL server (`sudo apt-get install postgresql`, which "
    "`make test` does as root) to run them"
)


def server_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin that has initdb and pg_ctl, else None."""
    found = []
    for path in Path("/usr/lib/postgresql").glob("*/bin"):
        if (path / "initdb").exists() and (path / "pg_ctl").exists() and path.parent.name.isdigit():
            found.append((int(path.parent.name), path))
    return max(found)[1] if found else None


def must_not_skip() -> bool:
    """CI and root runs install PostgreSQL, so there a missing server is a failure."""
    return bool(os.environ.get("CI")) or os.geteuid() == 0


def unavailable(reason: str) -> NoReturn:
    """Skip (a developer's machine without the package) or fail (CI, root)."""
    if must_not_skip():
        pytest.fail(f"{reason}; CI and root runs must test PostgreSQL: {INSTALL_HINT}")
    pytest.skip(f"{reason}; {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """One running PostgreSQL server; `database()` hands out fresh databases in it."""

    bin_dir: Path
    root: Path  # owned by the server's user: data/, the socket and server.log
    port: int = 0
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:  # "initdb: cannot be run as root"
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        done = self._run(
            "initdb",
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            *("--locale=C", "--no-sync", "--no-instructions"),
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
        # A free port can be taken between asking and binding: try a few.
        for _ in range(5):
            self.port = _free_port()
            options = " ".join(
                (
                    f"-p {self.port} -c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={self.root}",
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "-c shared_buffers=16MB -c max_connections=100",
                )
            )
            log = str(self.root / "server.log")
            done = self._run(
                "pg_ctl", *("-D", str(self.data), "-l", log), "-w", "-o", options, "start"
            )
            if done.returncode == 0:
                return
        raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{self.log()}")

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for psycopg 3."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, hint: str) -> str:
        """A new empty database; its name starts with a cleaned `hint` (the test's)."""
        stem = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:40]
        name = f"t{next(self._names)}_{stem}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def disconnect(self, name: str) -> None:
        """End every session on database `name`, as a database restart would."""
        self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )

    def drop_database(self, name: str) -> None:
        """Drop it even if a test left connections open (a crashed server process)."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _owned_tmp_dir() -> Path:
    if os.geteuid() != 0:
        return Path(tempfile.mkdtemp(prefix="conveyor-pg-"))
    # /tmp, not $TMPDIR or pytest's 0700 root-owned base: the postgres user must reach it.
    root = Path(tempfile.mkdtemp(prefix="conveyor-pg-", dir="/tmp"))
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        shutil.rmtree(root)
        unavailable("there is no `postgres` system user to run the server as (root)")
    os.chown(root, user.pw_uid, user.pw_gid)
    return root


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """The session's PostgreSQL server (started on first use, stopped at the end)."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL server programs not found under /usr/lib/postgresql/*/bin")
    cluster = Cluster(bin_dir=bin_dir, root=_owned_tmp_dir())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty database, dropped after the test."""
    name = pg_cluster.create_database(request.node.name)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, once per dialect: an SQLite file path, then a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return str(request.getfixturevalue("pg_url"))
