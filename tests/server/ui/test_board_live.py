"""The board and the journey with a real reconciler: `conveyor reconcile --listen` over
the memory target deploys each stage of the hosted config repository (apps `web-dev` …,
found by their source path, not their names); the server reads their statuses from the
reconciler's endpoint with its bearer token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.server.auth import Role
from tests.server.ui.boardworld import IMAGE, Reconciler, World, start_reconciler
from tests.server.ui.conftest import UI


@pytest.fixture
def world(ui: UI, tmp_path: Path) -> World:
    return World(service=ui.state.service, tmp=tmp_path)


@pytest.fixture
def reconciler(ui: UI, world: World, tmp_path: Path) -> Iterator[Reconciler]:
    seeded = world.seed_config()
    daemon = start_reconciler(seeded, tmp_path)
    try:
        daemon.wait_revision(_tip(seeded))  # every app synced to the seed commit
        ui.state.reconciler_url = daemon.url
        ui.state.reconciler_token_file = str(daemon.token_file)
        yield daemon
    finally:
        daemon.stop()


def _tip(bare: Path) -> str:
    return (bare / "refs/heads/main").read_text().strip()


def _section(html: str, marker: str) -> str:
    found = re.search(rf'{marker}">(.*?)</dl>', html, re.S)
    assert found, html
    return found.group(1)


def test_each_environment_shows_what_its_application_runs_with_sync_and_health(
    ui: UI, world: World, reconciler: Reconciler
) -> None:
    sha, [run_id] = world.push_app("live")
    promoted = world.promote(sha, "dev", run_id=run_id)
    reconciler.refresh()
    reconciler.wait_revision(promoted)
    signed = ui.sign_in(Role.READ)
    html = signed.get("/").text
    assert "Application state is unavailable" not in html
    dev = _section(html, 'id="env-dev')
    assert f"{IMAGE}:{sha[:12]}" in dev and f"at {promoted[:7]}, the revision web-dev" in dev
    assert "✓ Synced" in dev and "✓ Healthy" in dev and 'href="/apps/web-dev"' in dev
    assert f'href="/commits/acme/web/{sha}"' in dev
    assert f"{IMAGE}:seed" in _section(html, 'id="env-staging')
    journey = signed.get(f"/commits/acme/web/{sha}").text
    dev_step = _section(journey, 'id="stage-dev')
    assert "✓ running" in dev_step and "web-dev runs it: Synced, Healthy" in dev_step
    assert "↷ not promoted" in _section(journey, 'id="stage-staging')


def test_a_promotion_the_application_has_not_applied_yet_is_not_called_running(
    ui: UI, world: World, reconciler: Reconciler
) -> None:
    sha, [run_id] = world.push_app("not yet")
    world.promote(sha, "dev", run_id=run_id)  # no refresh: web-dev is still at the seed
    signed = ui.sign_in(Role.READ)
    dev = _section(signed.get("/").text, 'id="env-dev')
    assert f"{IMAGE}:seed" in dev and "no promotion recorded" in dev
    step = _section(signed.get(f"/commits/acme/web/{sha}").text, 'id="stage-dev')
    assert "not deployed yet" in step and "web-dev is still at" in step


def test_an_environment_that_does_not_become_healthy_says_so_in_words(
    ui: UI, world: World, reconciler: Reconciler
) -> None:
    sha, [run_id] = world.push_app("breaks")
    promoted = world.promote(sha, "staging", run_id=run_id, tag="broken-1")
    reconciler.refresh()
    # the memory target never readies an image named `broken`: past its progress deadline
    reconciler.wait_revision(promoted, apps=("staging",), health="Degraded")
    signed = ui.sign_in(Role.READ)
    staging = _section(signed.get("/").text, 'id="env-staging')
    assert f"{IMAGE}:broken-1" in staging and "✓ Synced" in staging
    assert "✗ Degraded" in staging and "exceeded its progress deadline" in staging
    step = _section(signed.get(f"/commits/acme/web/{sha}").text, 'id="stage-staging')
    assert "✗ degraded" in step and "web-staging: Synced, Degraded" in step
