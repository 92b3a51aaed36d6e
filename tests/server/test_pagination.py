"""Every list route is paged as GitHub's REST API pages (issue 18): `per_page` (30 by
default, 100 at most), `page`, a `Link` header with prev/next/last/first; the runs list
filters by repository, branch, event, status (or conclusion) and actor; the log route reads
a tail or a range; the runners list says who is online. A real server process on SQLite and
on PostgreSQL (tests/pg.py), its database seeded directly (125 runs through real pushes
would take minutes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from conveyor.app.api import Api
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from tests.server.conftest import Server, make_server

RUNS = 125


@dataclass
class Live:
    """A real server process on `database`, an HTTP client with the admin token, and the
    same database opened directly (to seed rows a test would otherwise need hours for)."""

    server: Server
    client: httpx.Client
    store: CIStore


@pytest.fixture
def live(tmp_path: Path, database: str) -> Iterator[Live]:
    server = make_server(tmp_path, "--database", database, "--pool-min", "0", "--pool-max", "0")
    server.start()
    store = CIStore(open_engine(database))
    headers = {"Authorization": f"Bearer {server.admin}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield Live(server=server, client=client, store=store)
    store.close()
    server.stop()


def _seed(store: CIStore, count: int = RUNS) -> None:
    """`count` runs: ids 1..count; every 5th a pull request by bob from `feature`, the rest
    pushes to main by ann; acme/app and acme/lib alternate; every 3rd one failed."""
    for n in range(1, count + 1):
        pull = n % 5 == 0
        payload: dict[str, Any] = {"sender": {"login": "bob" if pull else "ann"}}
        if pull:
            payload["pull_request"] = {"head": {"ref": "feature"}}
        store.add_run(
            {
                "repo": "acme/app" if n % 2 else "acme/lib",
                "workflow_path": ".github/workflows/ci.yml",
                "workflow_name": "CI",
                "event": "pull_request" if pull else "push",
                "ref": f"refs/pull/{n}/merge" if pull else "refs/heads/main",
                "payload": payload,
                "status": "completed",
                "conclusion": "failure" if n % 3 == 0 else "success",
                "created": time.time(),
            }
        )


def _walk(client: httpx.Client, url: str) -> tuple[list[int], list[str]]:
    """Follow rel="next" from `url`: every id seen, and each page's Link header."""
    ids: list[int] = []
    links: list[str] = []
    next_url: str | None = url
    while next_url:
        reply = client.get(next_url)
        assert reply.status_code == 200, reply.text
        ids += [r["id"] for r in reply.json()]
        links.append(reply.headers.get("link", ""))
        next_url = reply.links.get("next", {}).get("url")
    return ids, links


def test_more_than_100_runs_come_in_pages_with_github_link_headers(
    live: Live,
) -> None:
    client, store = live.client, live.store
    _seed(store)
    first = client.get("/api/v1/runs")
    assert [r["id"] for r in first.json()] == list(range(RUNS, RUNS - 30, -1))  # 30, newest
    base = f"{live.server.url}/api/v1/runs"
    assert first.headers["link"] == (
        f'<{base}?page=2&per_page=30>; rel="next", <{base}?page=5&per_page=30>; rel="last"'
    )
    middle = client.get("/api/v1/runs", params={"page": 3})
    assert middle.headers["link"] == (
        f'<{base}?page=2&per_page=30>; rel="prev", '
        f'<{base}?page=4&per_page=30>; rel="next", '
        f'<{base}?page=5&per_page=30>; rel="last", '
        f'<{base}?page=1&per_page=30>; rel="first"'
    )
    last = client.get("/api/v1/runs", params={"page": 5})
    assert [r["id"] for r in last.json()] == [5, 4, 3, 2, 1]
    assert 'rel="next"' not in last.headers["link"]
    assert 'rel="last"' not in last.headers["link"]
    ids, _ = _walk(client, "/api/v1/runs")
    assert ids == list(range(RUNS, 0, -1))  # every run once, newest first
    assert "payload" not in first.json()[0]


def test_per_page_is_at_most_100_and_one_page_sends_no_link(
    live: Live,
) -> None:
    client, store = live.client, live.store
    _seed(store)
    big = client.get("/api/v1/runs", params={"per_page": 500})
    assert len(big.json()) == 100
    assert "per_page=100" in big.links["next"]["url"]
    assert big.links["last"]["url"].endswith("page=2&per_page=100")
    few = client.get("/api/v1/runs", params={"per_page": 100, "repo": "acme/lib"})
    assert len(few.json()) == 62
    assert "link" not in few.headers  # everything fits on one page: no Link, as on GitHub
    assert client.get("/api/v1/runs", params={"per_page": 0}).status_code == 422
    assert client.get("/api/v1/runs", params={"page": 0}).status_code == 422
    assert client.get("/api/v1/runs", params={"page": 9}).json() == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"repo": "acme/app"}, [n for n in range(RUNS, 0, -1) if n % 2]),
        ({"branch": "feature"}, [n for n in range(RUNS, 0, -1) if n % 5 == 0]),
        (
            {"branch": "main", "event": "push", "repo": "acme/lib"},
            [n for n in range(RUNS, 0, -1) if n % 5 and n % 2 == 0],
        ),
        ({"event": "pull_request"}, [n for n in range(RUNS, 0, -1) if n % 5 == 0]),
        ({"actor": "bob", "status": "failure"}, [n for n in range(RUNS, 0, -1) if n % 15 == 0]),
        ({"status": "completed"}, list(range(RUNS, 0, -1))),
        ({"status": "queued"}, []),
        ({"status": "success", "actor": "ann"}, [n for n in range(RUNS, 0, -1) if n % 3 and n % 5]),
    ],
)
def test_runs_filter_by_repository_branch_event_status_and_actor(
    live: Live, params: dict[str, str], expected: list[int]
) -> None:
    client, store = live.client, live.store
    _seed(store)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    ids, links = _walk(client, f"/api/v1/runs?per_page=10&{query}")
    assert ids == expected
    for link in links[:-1]:  # the links keep the filters
        assert all(urlencode({k: v}) in link for k, v in params.items()), link


def test_every_list_route_is_paged_and_documented(live: Live) -> None:
    client = live.client
    schema = client.get("/openapi.json").json()
    lists = []
    for path, methods in schema["paths"].items():
        get = methods.get("get")
        if get is None:
            continue
        content = get["responses"]["200"].get("content", {}).get("application/json", {})
        if content.get("schema", {}).get("type") == "array" or path.endswith("/variables"):
            names = {p["name"] for p in get.get("parameters", [])}
            assert {"per_page", "page"} <= names, path
            lists.append(path)
    assert {"/api/v1/runs", "/api/v1/approvals", "/api/v1/runners", "/api/v1/audit"} <= set(lists)
    filters = {p["name"] for p in schema["paths"]["/api/v1/runs"]["get"]["parameters"]}
    assert {"repo", "branch", "event", "status", "actor"} <= filters


def test_short_lists_are_paged_too(live: Live) -> None:
    client = live.client
    for n in range(35):
        client.put(f"/api/v1/repos/acme/app/variables/V{n:02}", json={"value": str(n)})
        client.post("/api/v1/tokens", json={"name": f"t{n:02}", "role": "read"})
    variables = client.get("/api/v1/repos/acme/app/variables")
    assert sorted(variables.json()) == [f"V{n:02}" for n in range(30)]
    assert 'rel="next"' in variables.headers["link"]
    second = client.get(variables.links["next"]["url"]).json()
    assert sorted(second) == [f"V{n:02}" for n in range(30, 35)]
    tokens, _ = _names(client, "/api/v1/tokens")
    assert {f"t{n:02}" for n in range(35)} <= set(tokens)
    audit = client.get("/api/v1/audit", params={"per_page": 10})
    assert len(audit.json()) == 10 and 'rel="last"' in audit.headers["link"]


def _names(client: httpx.Client, url: str) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        reply = client.get(next_url)
        names += [t["name"] for t in reply.json()]
        pages += 1
        next_url = reply.links.get("next", {}).get("url")
    return names, pages


def test_the_api_client_follows_pages_for_status_and_approvals(
    live: Live,
) -> None:
    """`conveyor status` (Api.runs) and the tour (Api.pending_approvals) read past page 1."""
    store = live.store
    _seed(store, 70)
    with Api(live.server.url, live.server.admin) as api:
        runs = [r["id"] for r in api.runs(limit=50)]
        of_app = api.runs(repo="acme/app", limit=1000)
        for run_id in range(1, 41):
            store.config.request_approval(run_id, "production", state="pending")
        pending = api.pending_approvals()
    assert runs == list(range(70, 20, -1))
    assert len(of_app) == 35
    assert len(pending) == 40


def test_log_tail_range_and_next_offset(live: Live) -> None:
    client, store = live.client, live.store
    _seed(store, 1)
    store.add_logs(1, [("a" if n % 2 else "b", f"l{n}") for n in range(1, 2001)])
    tail = client.get("/api/v1/runs/1/logs", params={"tail": 3})
    assert tail.text == "b\tl1998\na\tl1999\nb\tl2000\n"
    assert tail.headers["x-log-next-offset"] == "2000"
    job_tail = client.get("/api/v1/runs/1/logs", params={"tail": 2, "job": "a"})
    assert job_tail.text == "a\tl1997\na\tl1999\n"
    assert job_tail.headers["x-log-next-offset"] == "1000"  # counted in the job
    ranged = client.get("/api/v1/runs/1/logs", params={"offset": 10, "limit": 2})
    assert ranged.text == "a\tl11\nb\tl12\n"
    follow = client.get("/api/v1/runs/1/logs", params={"offset": 2000})
    assert (follow.text, follow.headers["x-log-next-offset"]) == ("", "2000")
    assert client.get("/api/v1/runs/1/logs", params={"offset": -1}).status_code == 422
    both = client.get("/api/v1/runs/1/logs", params={"tail": 1, "limit": 1})
    assert both.status_code == 422
    assert client.get("/api/v1/runs/99/logs").status_code == 404


def test_runners_show_online_or_offline_and_ephemeral_ones_leave(
    live: Live,
) -> None:
    client, store = live.client, live.store
    store.access.see_runner("gone", labels=["x"], kind="remote", ephemeral=False)
    store.access.see_runner("here", labels=["x"], kind="remote", ephemeral=False)
    timeout = 30  # the server's default heartbeat timeout
    with store.tx() as conn:
        conn.exec_driver_sql(
            f"UPDATE ci_runners SET last_seen = {time.time() - timeout - 5} WHERE name = 'gone'"
        )
    listed = {r["name"]: r for r in client.get("/api/v1/runners").json()}
    assert listed["gone"]["status"] == "offline"
    assert listed["here"]["status"] == "online"
    assert listed["here"]["last_heartbeat"] >= time.time() - 5
    assert store.access.drop_runner("here", ephemeral_only=True) is False  # not ephemeral: stays
    store.access.see_runner("once", labels=["x"], kind="remote", ephemeral=True)
    assert store.access.drop_runner("once", ephemeral_only=True) is True
    assert "once" not in {r["name"] for r in client.get("/api/v1/runners").json()}
