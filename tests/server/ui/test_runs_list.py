"""The runs list: newest first, GitHub's filters (repository, branch, event, status,
actor) as a GET form that narrows the list, pages of 25 with links that keep the filters."""

from __future__ import annotations

import re
from pathlib import Path

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import push

WORKFLOW = """name: {name}
on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps: [{{run: "true"}}]
"""


def _ids(html: str) -> list[int]:
    """The run ids the list shows, in order."""
    return [int(x) for x in re.findall(r'<td><a href="/runs/(\d+)">#\d+</a></td>', html)]


def _runs(ui: UI, tmp_path: Path) -> dict[str, int]:
    service = ui.state.service
    [main] = push(service, tmp_path, {"a.yml": WORKFLOW.format(name="Build")}, pusher="alice")
    [feature] = push(
        service, tmp_path, {"a.yml": WORKFLOW.format(name="Build")}, branch="feature", pusher="bob"
    )
    [other] = push(service, tmp_path, {"o.yml": WORKFLOW.format(name="Other")}, repo="acme/other")
    service.cancel(feature, reason="test")
    return {"main": main, "feature": feature, "other": other}


def test_list_shows_runs_newest_first_with_their_columns(ui: UI, tmp_path: Path) -> None:
    runs = _runs(ui, tmp_path)
    html = ui.sign_in(Role.READ).get("/runs").text
    assert _ids(html) == [runs["other"], runs["feature"], runs["main"]]
    sha = ui.state.service.store.run(runs["feature"])["sha"]  # type: ignore[index]
    row = html[html.index(f'<a href="/runs/{runs["feature"]}">#') :].split("</tr>")[0]
    for shown in ("Build", "acme/app", "feature", "push", "bob", sha[:7], "⊘ cancelled"):
        assert shown in row, shown
    assert sha not in row  # the short SHA only


def test_each_filter_narrows_the_list(ui: UI, tmp_path: Path) -> None:
    runs = _runs(ui, tmp_path)
    reader = ui.sign_in(Role.READ)
    cases = {
        "repo=acme/other": [runs["other"]],
        "branch=feature": [runs["feature"]],
        "actor=bob": [runs["feature"]],
        "status=cancelled": [runs["feature"]],
        "status=queued": [runs["other"], runs["main"]],
        "event=push": [runs["other"], runs["feature"], runs["main"]],
        "event=schedule": [],
        "repo=acme/app&branch=main&actor=alice": [runs["main"]],
    }
    for query, expected in cases.items():
        html = reader.get(f"/runs?{query}").text
        assert _ids(html) == expected, query
    html = reader.get("/runs?event=schedule").text
    assert "No runs match these filters." in html


def test_filter_form_keeps_its_choices(ui: UI, tmp_path: Path) -> None:
    _runs(ui, tmp_path)
    html = ui.sign_in(Role.READ).get("/runs?repo=acme/other&status=queued&actor=x").text
    assert '<form class="filters" method="get" action="/runs"' in html
    assert '<option value="acme/other" selected>' in html
    assert '<option value="queued" selected>' in html
    assert 'name="actor" value="x"' in html


def test_pages_of_25_keep_the_filters(ui: UI, tmp_path: Path) -> None:
    files = {f"w{i:02}.yml": WORKFLOW.format(name=f"W{i}") for i in range(27)}
    ids = push(ui.state.service, tmp_path, files)
    push(ui.state.service, tmp_path, {"x.yml": WORKFLOW.format(name="X")}, branch="other")
    reader = ui.sign_in(Role.READ)
    first = reader.get("/runs?branch=main").text
    assert _ids(first) == sorted(ids, reverse=True)[:25]
    assert "27 runs · page 1 of 2" in first
    assert 'href="/runs?branch=main&amp;page=2" rel="next"' in first and 'rel="prev"' not in first
    second = reader.get("/runs?branch=main&page=2").text
    assert _ids(second) == sorted(ids, reverse=True)[25:]
    assert 'href="/runs?branch=main&amp;page=1" rel="prev"' in second and 'rel="next"' not in second


def test_list_needs_a_session(ui: UI) -> None:
    reply = ui.client().get("/runs?branch=main")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=%2Fruns%3Fbranch%3Dmain"
