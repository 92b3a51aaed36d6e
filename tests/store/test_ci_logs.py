"""Numbered log lines (issue 18), on SQLite and PostgreSQL: a tail or a range of a 200,000-line
log reads what it returns (measured by the database's own work, not by a clock), lines are
numbered in the run and in the job without gaps under concurrent writers, and a database
from before the numbering gets it (and the runs' actor and branch) when a server opens it."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)
from sqlalchemy.engine import Engine

from conveyor.store.ci_filters import RunFilter
from conveyor.store.ci_logs import LogWindow, window_query
from conveyor.store.ci_schema import logs
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from conveyor.store.engine import database_url

LINES = 200_000


def _run(store: CIStore, **values: Any) -> int:
    base = {
        "repo": "acme/app",
        "workflow_path": ".github/workflows/ci.yml",
        "workflow_name": "CI",
        "event": "push",
        "status": "queued",
        "created": time.time(),
    }
    return store.add_run({**base, **values})


def _work(conn: Connection, query: Any) -> int:
    """What the database did for `query`: on PostgreSQL the rows its scans read (EXPLAIN
    ANALYZE), on SQLite the virtual-machine steps it ran (a progress handler counts them by
    the hundred: every row visited costs several)."""
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).scalar_one()
        return _rows_scanned(plan[0]["Plan"])
    raw: Any = conn.connection.dbapi_connection
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(count, 100)
    try:
        conn.exec_driver_sql(sql).all()
    finally:
        raw.set_progress_handler(None, 100)
    return steps[0]


def _rows_scanned(node: dict[str, Any]) -> int:
    own = 0
    if "Scan" in node["Node Type"]:
        loops = node.get("Actual Loops", 1)
        own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops
    return own + sum(_rows_scanned(child) for child in node.get("Plans", []))


def _plan(conn: Connection, query: Any) -> str:
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        return "\n".join(conn.exec_driver_sql("EXPLAIN " + sql).scalars())
    return "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))


def test_a_tail_of_a_200000_line_log_reads_a_small_fraction_of_it(store: CIStore) -> None:
    run_id = _run(store)
    other = _run(store)  # another run's lines are interleaved: a scan would read them too
    for start in range(0, LINES, 10_000):
        store.add_logs(run_id, [("build", f"line {n}") for n in range(start, start + 10_000)])
        store.add_logs(other, [("build", "noise")] * 100)
    with store.tx() as conn:
        conn.exec_driver_sql("ANALYZE")
    tail = store.log_lines(run_id, LogWindow(tail=1000))
    assert [x.number for x in tail] == list(range(LINES - 999, LINES + 1))
    assert tail[-1].text == f"line {LINES - 1}"
    windows = {
        "tail": LogWindow(tail=1000),
        "job tail": LogWindow(job="build", tail=1000),
        "range": LogWindow(after=150_000, limit=1000),
        "job range": LogWindow(job="build", after=150_000, limit=1000),
        "from offset": LogWindow(after=LINES - 1000),
    }
    with store.tx() as conn:
        full = _work(conn, window_query(run_id, LogWindow()))
        for name, window in windows.items():
            query = window_query(run_id, window)
            work = _work(conn, query)
            assert work < full * 0.02, (name, work, full, _plan(conn, query))
            assert "ix_ci_logs_run" in _plan(conn, query), name


def test_lines_are_numbered_in_the_run_and_in_their_job(store: CIStore) -> None:
    run_id = _run(store)
    store.add_logs(run_id, [("a", "a1"), ("b", "b1"), ("a", "a2")])
    store.add_logs(run_id, [("", "note"), ("b", "b2")])
    every = store.log_lines(run_id, LogWindow())
    assert [(x.number, x.job, x.text) for x in every] == [
        (1, "a", "a1"),
        (2, "b", "b1"),
        (3, "a", "a2"),
        (4, "", "note"),
        (5, "b", "b2"),
    ]
    assert [(x.number, x.text) for x in store.log_lines(run_id, LogWindow(job="b"))] == [
        (1, "b1"),
        (2, "b2"),
    ]
    assert [x.text for x in store.log_lines(run_id, LogWindow(after=1, limit=2))] == ["b1", "a2"]
    assert [x.text for x in store.log_lines(run_id, LogWindow(tail=2))] == ["note", "b2"]
    assert [x.text for x in store.log_lines(run_id, LogWindow(job="a", tail=1))] == ["a2"]
    assert store.log_count(run_id) == 5
    assert store.logs(run_id, job="a") == [("a", "a1"), ("a", "a2")]


def test_concurrent_writers_of_one_run_never_share_a_line_number(store: CIStore) -> None:
    """Two runners on two jobs of one run stream at once (and two servers may share a
    PostgreSQL database): numbers stay unique and gapless, in the run and in each job."""
    run_id = _run(store)

    def write(worker: int) -> None:
        for batch in range(20):
            store.add_logs(
                run_id, [(f"job{worker % 2}", f"{worker}-{batch}-{n}") for n in range(5)]
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(4)))
    every = store.log_lines(run_id, LogWindow())
    assert [x.number for x in every] == list(range(1, 401))
    for job in ("job0", "job1"):
        assert [x.number for x in store.log_lines(run_id, LogWindow(job=job))] == list(
            range(1, 201)
        )


def _old_schema(engine: Engine) -> None:
    """ci_runs and ci_logs as servers before issue 18 created them, with rows."""
    meta = MetaData()
    old_runs = Table(
        "ci_runs",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("repo", Text, nullable=False, index=True),
        Column("clone_url", Text, nullable=False, default=""),
        Column("workflow_path", Text, nullable=False),
        Column("workflow_name", Text, nullable=False),
        Column("event", String(64), nullable=False),
        Column("ref", Text, nullable=False, default=""),
        Column("sha", String(64), nullable=False, default=""),
        Column("payload", Text, nullable=False, default="{}"),
        Column("status", String(16), nullable=False, index=True),
        Column("conclusion", String(16), nullable=False, default=""),
        Column("reason", Text, nullable=False, default=""),
        Column("concurrency_group", Text, nullable=False, default=""),
        Column("cancel_in_progress", Integer, nullable=False, default=0),
        Column("labels", Text, nullable=False, default="[]"),
        Column("only_jobs", Text, nullable=False, default="null"),
        Column("attempt", Integer, nullable=False, default=1),
        Column("run_number", Integer, nullable=False, default=1),
        Column("rerun_of", Integer),
        Column("annotations", Text, nullable=False, default="[]"),
        Column("runner", Text, nullable=False, default=""),
        Column("heartbeat", Float, nullable=False, default=0.0),
        Column("created", Float, nullable=False),
        Column("started", Float),
        Column("finished", Float),
    )
    old_logs = Table(
        "ci_logs",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, nullable=False, index=True),
        Column("job", Text, nullable=False),
        Column("text", Text, nullable=False),
    )
    meta.create_all(engine)
    push = {"sender": {"login": "ann"}}
    pull = {"sender": {"login": "bob"}, "pull_request": {"head": {"ref": "feature"}}}
    base: dict[str, Any] = {"repo": "acme/app", "workflow_path": "w", "workflow_name": "W"}
    base["status"] = "completed"
    base["created"] = time.time()
    with engine.begin() as conn:
        conn.execute(
            old_runs.insert(),
            [
                {**base, "event": "push", "ref": "refs/heads/main", "payload": json.dumps(push)},
                {
                    **base,
                    "event": "pull_request",
                    "ref": "refs/pull/7/merge",
                    "payload": json.dumps(pull),
                },
            ],
        )
        rows = [(1, "a", "a1"), (2, "x", "x1"), (1, "b", "b1"), (1, "a", "a2"), (2, "x", "x2")]
        conn.execute(old_logs.insert(), [{"run_id": r, "job": j, "text": t} for r, j, t in rows])


def test_an_older_database_gets_numbered_lines_and_run_filters(database: str) -> None:
    engine = create_engine(database_url(database))
    _old_schema(engine)
    engine.dispose()
    store = CIStore(open_engine(database))
    try:
        assert [(x.number, x.text) for x in store.log_lines(1, LogWindow())] == [
            (1, "a1"),
            (2, "b1"),
            (3, "a2"),
        ]
        assert [x.text for x in store.log_lines(1, LogWindow(job="a", tail=1))] == ["a2"]
        assert [x.text for x in store.log_lines(2, LogWindow(after=1))] == ["x2"]
        store.add_logs(1, [("b", "b2")])  # numbering goes on where the old lines end
        assert [(x.number, x.text) for x in store.log_lines(1, LogWindow(tail=1))] == [(4, "b2")]
        assert [x.number for x in store.log_lines(1, LogWindow(job="b"))] == [1, 2]
        by_actor = store.runs(where=RunFilter(actor="bob"))
        assert [(r["id"], r["branch"]) for r in by_actor] == [(2, "feature")]
        assert [r["id"] for r in store.runs(where=RunFilter(branch="main"))] == [1]
    finally:
        store.close()
    again = CIStore(open_engine(database))  # a second opening applies nothing again
    with again.tx() as conn:
        assert conn.scalar(select(logs.c.line).where(logs.c.text == "b2")) == 4
    again.close()
