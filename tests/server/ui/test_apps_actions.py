"""The Applications pages' buttons (issue 15): Sync, Refresh, Rollback and Revert go to the
running reconciler for the write role (CSRF-checked form POSTs) and come back with the
outcome; the read role gets 403 and nothing happens; refusals are shown with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.server.auth import Role
from conveyor.targets.base import ObjectRef
from tests.reconcile.conftest import application, deployment
from tests.server.ui.appsworld import AppsUI, apps_ui, point_at
from tests.server.ui.conftest import UI

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


@pytest.fixture
def apps(ui: UI, tmp_path: Path) -> Iterator[AppsUI]:
    """App `web` with auto-sync, deployed at web:1 (one history entry)."""
    with apps_ui(ui, tmp_path) as here:
        here.repo.write_objects("app/web.yaml", deployment("web", "web:1"))
        here.repo.commit("v1")
        here.rec.start(application("web", here.repo, "app", automated=AUTO))
        point_at(ui, here.rec)
        yield here


def image(apps: AppsUI) -> str:
    live = apps.rec.world.target.peek(WEB)
    assert live is not None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def deploy_v2(apps: AppsUI) -> None:
    apps.repo.write_objects("app/web.yaml", deployment("web", "web:2"))
    apps.repo.commit("v2")
    reconciler = apps.rec.reconciler
    assert reconciler is not None
    apps.rec.run(reconciler.reconcile_apps(["web"]))
    assert image(apps) == "web:2"


def entries(apps: AppsUI) -> list[dict[str, object]]:
    found: list[dict[str, object]] = apps.rec.get("/apps/web/history").json()["entries"]
    return found


def test_sync_runs_in_the_reconciler_and_shows_the_outcome(apps: AppsUI) -> None:
    signed = apps.ui.sign_in(Role.WRITE, "wanda")
    reply = signed.post("/apps/web/sync", {"prune": "true"})
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == "/apps/web?done=sync"
    page = signed.get(reply.headers["location"])
    assert "Sync finished." in page.text and "Succeeded" in page.text
    newest = entries(apps)[0]
    assert newest["initiatedBy"] == "ui:wanda" and len(entries(apps)) == 2


def test_refresh_reconciles_at_once(apps: AppsUI) -> None:
    apps.repo.write_objects("app/web.yaml", deployment("web", "web:3"))
    apps.repo.commit("v3")
    reply = apps.ui.sign_in(Role.WRITE).post("/apps/web/refresh")
    assert reply.headers["location"] == "/apps/web?done=refresh"
    assert image(apps) == "web:3"  # auto-sync deployed what the refresh fetched


def test_rollback_to_a_history_entry_pauses_auto_sync(apps: AppsUI) -> None:
    first = entries(apps)[0]["id"]
    deploy_v2(apps)
    signed = apps.ui.sign_in(Role.WRITE)
    reply = signed.post("/apps/web/rollback", {"id": str(first)})
    assert reply.status_code == 303, reply.text
    assert image(apps) == "web:1"
    page = signed.get(reply.headers["location"])
    assert "Rolled back." in page.text and "paused" in page.text


def test_revert_commits_to_git_and_the_page_names_the_commit(apps: AppsUI) -> None:
    first = entries(apps)[0]["id"]
    deploy_v2(apps)
    signed = apps.ui.sign_in(Role.WRITE)
    reply = signed.post("/apps/web/revert", {"id": str(first)})
    assert reply.status_code == 303, reply.text
    commit = re.search(r"commit=([0-9a-f]{40})", reply.headers["location"])
    assert commit is not None
    assert image(apps) == "web:1"
    page = signed.get(reply.headers["location"])
    assert "Revert committed" in page.text and commit.group(1)[:12] in page.text


def test_a_refusal_is_shown_with_the_reconcilers_reason(apps: AppsUI) -> None:
    reply = apps.ui.sign_in(Role.WRITE).post("/apps/web/rollback")
    assert reply.status_code == 409
    assert "Refused by the reconciler" in reply.text
    assert "no earlier successful sync" in reply.text and "Nothing was changed" in reply.text
    assert image(apps) == "web:1"


@pytest.mark.parametrize("action", ["sync", "refresh", "rollback", "revert"])
def test_the_read_role_cannot_act_and_nothing_happens(apps: AppsUI, action: str) -> None:
    before = entries(apps)
    signed = apps.ui.sign_in(Role.READ)
    reply = signed.post(f"/apps/web/{action}")
    assert reply.status_code == 403 and "Not allowed" in reply.text
    assert entries(apps) == before
    html = signed.get("/apps/web").text
    assert f'action="/apps/web/{action}"' not in html  # no button for what it cannot do


def test_a_form_without_the_csrf_token_is_refused(apps: AppsUI) -> None:
    signed = apps.ui.sign_in(Role.WRITE)
    reply = signed.client.post("/apps/web/sync", data={"prune": "true"})
    assert reply.status_code == 403 and len(entries(apps)) == 1


def test_the_write_role_sees_every_button(apps: AppsUI) -> None:
    signed = apps.ui.sign_in(Role.WRITE)
    html = signed.get("/apps/web").text
    for action in ("sync", "refresh", "rollback", "revert"):
        assert f'method="post" action="/apps/web/{action}"' in html, action
    history = signed.get("/apps/web/history").text
    assert 'form="rollback-1"' in history and 'id="revert-1"' in history


def test_an_unreachable_reconciler_on_a_button_is_a_clear_page(apps: AppsUI) -> None:
    apps.ui.state.reconciler_url = "http://127.0.0.1:9"
    reply = apps.ui.sign_in(Role.WRITE).post("/apps/web/sync")
    assert reply.status_code == 502 and "Reconciler unreachable" in reply.text
