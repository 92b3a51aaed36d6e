"""Opening a database: one place for URLs, SQLite pragmas and schema setup.

Called by `Store.open` (the reconciler's tables, through migrations) and
`ci_store.open_engine` (the CI service's tables). SQLite files get WAL, a busy timeout and
`synchronous=NORMAL`, so the server, the reconciler and CLI commands can share one file.
PostgreSQL URLs use psycopg 3 (`postgresql://` means `postgresql+psycopg://`) and check a
pooled connection before use, so a restarted database costs no failed request. Other
dialects are refused: the stores' keyed writes (`dialect.upsert`) speak these two.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import SQLAlchemyError

from conveyor.store.dialect import DIALECTS
from conveyor.store.errors import StoreError


def database_url(location: str | Path) -> str:
    """A SQLAlchemy URL: an SQLite file path becomes one, `postgresql://` (or libpq's
    `postgres://`) gets the psycopg 3 driver, other URLs pass through."""
    text = str(location)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    scheme, rest = text.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else text


def safe_url(url: str) -> str:
    """The URL with any credentials replaced by `***`, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_database(
    location: str | Path, *, setup: Callable[[Connection], object], what: str
) -> Engine:
    """An engine whose schema `setup` has run; `what` names the database in errors."""
    url = database_url(location)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        backend = make_url(url).get_backend_name()
        if backend not in DIALECTS:
            raise StoreError(
                f"cannot open the {what} {safe_url(url)}: Conveyor stores data in SQLite "
                "(a file path) or PostgreSQL (postgresql://user:password@host/database), "
                f"not {backend}"
            )
        engine = create_engine(url, pool_pre_ping=backend != "sqlite")
        if backend == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        with engine.begin() as conn:
            setup(conn)
    except ImportError as exc:  # e.g. postgresql+psycopg2:// without psycopg2
        raise StoreError(
            f"cannot open the {what} {safe_url(url)}: its database driver is missing ({exc}); "
            "use postgresql:// (psycopg 3, installed with Conveyor)"
        ) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the {what} {safe_url(url)}: {exc}") from exc
    return engine
