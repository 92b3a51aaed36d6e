"""`conveyor server --database postgresql+psycopg://…`: a real server process on a real
PostgreSQL database (tests/pg.py), a push over git smart HTTP, a run that completes — and
that its state is in PostgreSQL, not in an SQLite file beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from conveyor.store.ci_schema import runs
from tests.server.conftest import Server, make_server, push_workflows
from tests.server.test_ci_flow import HELLO


@pytest.fixture
def pg_server(tmp_path: Path, pg_url: str) -> Iterator[Server]:
    srv = make_server(tmp_path, "--database", pg_url, "--heartbeat-timeout", "30")
    srv.start()
    yield srv
    srv.stop()


def test_a_push_runs_to_success_on_postgresql(
    pg_server: Server, pg_url: str, tmp_path: Path
) -> None:
    sha = push_workflows(pg_server, tmp_path, "acme/app", {".github/workflows/ci.yml": HELLO})
    run_id = int(pg_server.wait_runs("acme/app", 1)[0]["id"])  # type: ignore[call-overload]
    run = pg_server.wait_run(run_id, timeout=120)
    assert (run["conclusion"], run["sha"], run["run_number"]) == ("success", sha, 1)
    assert [(j["name"], j["conclusion"]) for j in run["jobs"]] == [("build", "success")]
    logs = pg_server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    assert "hello from main" in logs
    statuses = pg_server.api("GET", f"/api/v1/repos/acme/app/commits/{sha}/statuses").json()
    assert [(s["context"], s["state"]) for s in statuses] == [("conveyor/CI", "success")]

    assert not (pg_server.data / "conveyor.db").exists()
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(runs)) == 1
    engine.dispose()
