"""Opening a database: one place for URLs, SQLite pragmas and schema setup.

Called by `Store.open` (the reconciler's tables, through migrations) and
`ci_store.open_engine` (the CI service's tables). SQLite files get WAL, a busy timeout and
`synchronous=NORMAL`, so the server, the reconciler and CLI commands can share one file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from conveyor.store.errors import StoreError


def database_url(location: str | Path) -> str:
    """A SQLAlchemy URL: URLs pass through, anything else is an SQLite file path."""
    text = str(location)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


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
        engine = create_engine(url)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_pragmas)
        with engine.begin() as conn:
            setup(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the {what} {safe_url(url)}: {exc}") from exc
    return engine
