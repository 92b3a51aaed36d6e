"""A run's log lines, numbered so that a range or a tail costs what it returns (issue 18).

Called by `CIStore.add_logs` / `log_lines` (one transaction each). Every line gets two
1-based numbers: `line` in the run and `job_line` in the run's job, both indexed with the
run id (`ci_schema.LOG_INDEXES`). A batch first bumps the run's counter in `ci_log_heads`
(one `INSERT … ON CONFLICT DO UPDATE … RETURNING`): that write takes SQLite's database lock
and PostgreSQL's row lock before anything is read, so concurrent batches of one run (two
runners on two jobs) number their lines without gaps or repeats. Reading is an index range:
`after` the Nth line, `tail` the last N (read backwards, newest first, then reversed),
`limit` at most N lines; `contains` and `starts` filter the lines of that range in SQL (the
web UI's log search and step markers: issue 15).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    true,
)

from conveyor.store.ci_schema import log_heads, logs
from conveyor.store.dialect import clean_text, upsert_returning


@dataclass(frozen=True, slots=True, kw_only=True)
class LogWindow:
    """Which lines to read: those numbered above `after`, at most `limit` of them, or the
    last `tail` (then `after` still bounds them from below). Numbers count in the job when
    `job` is given, else in the run."""

    job: str | None = None
    after: int = 0
    tail: int | None = None
    limit: int | None = None
    # only lines containing this text, ignoring case (only ASCII letters' case on SQLite;
    # `%` and `_` match themselves), or starting with one of `starts`: filters on the index range
    contains: str | None = None
    starts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    number: int  # in the job when the window names one, else in the run
    job: str
    text: str


def append(conn: Connection, run_id: int, lines: Sequence[tuple[str, str]]) -> None:
    """Number and insert `lines` (job, text) after the run's last line."""
    if not lines:
        return
    last = upsert_returning(
        conn,
        log_heads,
        {"run_id": run_id, "lines": len(lines)},
        keys=["run_id"],
        increment="lines",
        returning="lines",
    )
    first = int(last) - len(lines) + 1
    jobs = sorted({job for job, _ in lines})
    query = (
        select(logs.c.job, func.max(logs.c.job_line))
        .where(logs.c.run_id == run_id, logs.c.job.in_(jobs))
        .group_by(logs.c.job)
    )
    counts = dict.fromkeys(jobs, 0) | {job: int(n or 0) for job, n in conn.execute(query)}
    rows = []
    for offset, (job, body) in enumerate(lines):
        counts[job] += 1
        rows.append(
            {
                "run_id": run_id,
                "job": job,
                "text": clean_text(body),
                "line": first + offset,
                "job_line": counts[job],
            }
        )
    conn.execute(insert(logs), rows)


def window_query(run_id: int, window: LogWindow, dialect: str = "sqlite") -> Select[Any]:
    """The SELECT of `window`: an index range on (run_id, line) or (run_id, job, job_line).
    A tail comes back newest first (`read` reverses it)."""
    number = logs.c.line if window.job is None else logs.c.job_line
    query = select(number, logs.c.job, logs.c.text).where(
        logs.c.run_id == run_id, number > max(window.after, 0)
    )
    if window.job is not None:
        query = query.where(logs.c.job == window.job)
    if window.contains:
        query = query.where(_contains(window.contains, dialect))
    if window.starts:
        query = query.where(
            or_(*(logs.c.text.startswith(s, autoescape=True) for s in window.starts))
        )
    if window.tail is not None:
        return query.order_by(number.desc()).limit(window.tail)
    query = query.order_by(number)
    return query if window.limit is None else query.limit(window.limit)


def _contains(text: str, dialect: str) -> ColumnElement[bool]:
    """`text` anywhere in the line, ignoring case: PostgreSQL's ILIKE; SQLite's LIKE, which
    ignores ASCII case by itself (twice as fast as comparing `lower()` of each line)."""
    pattern = "%" + re.sub(r"([/%_])", r"/\1", text) + "%"
    if dialect == "postgresql":
        return logs.c.text.ilike(pattern, escape="/")
    return logs.c.text.like(pattern, escape="/")


def _starts(prefixes: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """The line starts with one of `prefixes`. PostgreSQL: LIKE 'prefix%'. SQLite: a range
    `prefix <= text < prefix'` (the last character bumped): its BINARY collation compares
    UTF-8 bytes, whose order is the characters' order, and a comparison is a third of the
    cost of a LIKE there."""
    if "" in prefixes:
        return true()
    if dialect == "postgresql":
        return or_(*(logs.c.text.startswith(p, autoescape=True) for p in prefixes))
    return or_(
        *(and_(logs.c.text >= p, logs.c.text < p[:-1] + chr(ord(p[-1]) + 1)) for p in prefixes)
    )


def read(conn: Connection, run_id: int, window: LogWindow) -> list[LogLine]:
    query = window_query(run_id, window, conn.dialect.name)
    rows = [LogLine(number=n, job=j, text=t) for n, j, t in conn.execute(query)]
    if window.tail is not None:
        rows.reverse()
    return rows


def count(conn: Connection, run_id: int) -> int:
    """Lines written to the run so far (its counter: no scan)."""
    found = conn.scalar(select(log_heads.c.lines).where(log_heads.c.run_id == run_id))
    return int(found or 0)


def prune(conn: Connection, runs: Select[Any]) -> int:
    """Delete the lines (and line counters) of the runs `runs` selects; how many lines went.
    Called by `CIStore.prune_logs` (log retention, `ci.retention`)."""
    done = conn.execute(delete(logs).where(logs.c.run_id.in_(runs)))
    conn.execute(delete(log_heads).where(log_heads.c.run_id.in_(runs)))
    return int(done.rowcount or 0)
