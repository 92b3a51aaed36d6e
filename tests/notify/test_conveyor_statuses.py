"""The GitHub commit-status destination against a real Conveyor server process, which
implements GitHub's `POST /repos/{owner}/{repo}/statuses/{sha}` under `/api/v1`: the
status lands on the commit; the route refuses the server's own contexts, unknown
repositories and short SHAs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.core.notices import Subject, Trigger
from conveyor.store import Store
from conveyor.store.notify_store import DeliveryState
from tests.notify.helpers import app_notice, config_from, notify_all
from tests.server.conftest import Server, make_server, push_workflows


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path)
    srv.start()
    yield srv
    srv.stop()


def test_a_commit_status_lands_on_a_conveyor_server(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = push_workflows(server, tmp_path, "acme/app", {"README.md": "hello\n"})
    monkeypatch.setenv("CONVEYOR_TOKEN", server.admin)
    config = config_from(
        tmp_path,
        f"""
        notifications:
          destinations:
            commits: {{type: github, apiUrl: "{server.url}/api/v1", tokenEnv: CONVEYOR_TOKEN}}
          subscriptions:
            - {{triggers: [on-run-failed], destinations: [commits]}}
        """,
    )
    notice = app_notice(
        Trigger.RUN_FAILED, subject=Subject.RUN, name="Build", repo="acme/app", revision=sha
    )
    store = Store.open(tmp_path / "state.db")
    try:
        [row] = asyncio.run(notify_all(config, store, notice))
    finally:
        store.close()
    assert (row.state, row.status) == (DeliveryState.DELIVERED, 201), row.error
    statuses = server.api("GET", f"/api/v1/repos/acme/app/commits/{sha}/statuses").json()
    assert [(s["context"], s["state"], s["description"]) for s in statuses] == [
        ("conveyor-notify/Build", "failure", "acme/app: Build failed")
    ]


def test_the_status_route_refuses_what_it_cannot_take(server: Server, tmp_path: Path) -> None:
    sha = push_workflows(server, tmp_path, "acme/app", {"README.md": "hello\n"})
    ok = {"state": "success", "context": "ci/external"}
    assert server.api("POST", f"/api/v1/repos/acme/app/statuses/{sha}", json=ok).status_code == 201
    own = {"state": "success", "context": "conveyor/Deploy"}
    reply = server.api("POST", f"/api/v1/repos/acme/app/statuses/{sha}", json=own)
    assert reply.status_code == 422 and "server's own" in reply.text
    assert server.api("POST", f"/api/v1/repos/acme/nope/statuses/{sha}", json=ok).status_code == 404
    short = server.api("POST", f"/api/v1/repos/acme/app/statuses/{sha[:7]}", json=ok)
    assert short.status_code == 422
    bad = server.api("POST", f"/api/v1/repos/acme/app/statuses/{sha}", json={"state": "meh"})
    assert bad.status_code == 422
