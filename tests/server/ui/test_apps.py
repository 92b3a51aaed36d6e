"""The Applications pages (issue 15) over a real reconciler behind its real endpoint:
the list, the app page's resource tree, conditions and events, an object's manifests and
side-by-side diff, the history with the diff between two entries, promotions; Secrets
never reach a page."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.server.auth import Role
from conveyor.targets.base import ObjectRef
from tests.app.reconcilerworld import leaks
from tests.reconcile.conftest import application, deployment, service
from tests.server.ui.appsworld import AppsUI, apps_ui, point_at, secret
from tests.server.ui.conftest import UI

ROTATED = "rotated-never-in-a-page"
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
DB = ObjectRef(group="", kind="Secret", namespace="prod", name="db")


@pytest.fixture
def apps(ui: UI, tmp_path: Path) -> Iterator[AppsUI]:
    """App `web` (Deployment, Service, Secret), synced by hand once; the UI points at it."""
    with apps_ui(ui, tmp_path) as here:
        here.repo.write_objects(
            "app/all.yaml", deployment("web", "web:1"), service("web"), secret()
        )
        here.repo.commit("v1")
        reconciler = here.rec.start(application("web", here.repo, "app"))
        here.rec.run(reconciler.sync("web", by="tester"))
        point_at(ui, here.rec)
        yield here


def second_revision(apps: AppsUI, **changes: Any) -> None:
    apps.repo.write_objects(
        "app/all.yaml", deployment("web", "web:2"), service("web"), secret(ROTATED)
    )
    apps.repo.commit("v2")
    reconciler = apps.rec.reconciler
    assert reconciler is not None
    apps.rec.run(reconciler.sync("web", by="tester"))


def test_the_list_shows_each_app_with_sync_health_and_short_revision(apps: AppsUI) -> None:
    page = apps.ui.sign_in(Role.READ).get("/apps")
    assert page.status_code == 200, page.text
    revision = apps.rec.get("/apps/web").json()["status"]["sync"]["revision"]
    row = re.search(r'<a href="/apps/web">web</a>.*?</tr>', page.text, re.S)
    assert row is not None
    assert "✓ Synced" in row.group(0) and "✓ Healthy" in row.group(0)
    assert revision[:7] in row.group(0) and revision not in row.group(0)
    assert "s ago" in row.group(0)  # last sync time


def test_the_app_page_nests_containers_under_their_workload(apps: AppsUI) -> None:
    html = apps.ui.sign_in(Role.READ).get("/apps/web").text
    workload = re.search(
        r'<li class="node node-object">\s*<details open><summary>'
        r'<span class="node-kind">Deployment</span>\s*<a href="([^"]+)">web</a>(.*?)</details>',
        html,
        re.S,
    )
    assert workload is not None, html
    assert workload.group(1) == "/apps/web/objects?ref=apps/Deployment/prod/web"
    nested = workload.group(2)
    assert '<li class="node node-container">' in nested and "web:1" in nested
    assert "3 objects · 0 out of sync · 0 not healthy" in html
    assert "Ready" in html and "Synced to" in html  # conditions
    assert "tester" in html and "manual sync" in html  # events: who and why


def test_an_out_of_sync_object_shows_a_side_by_side_diff(apps: AppsUI) -> None:
    apps.rec.world.target.edit(
        WEB, lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="web:hot")
    )
    reconciler = apps.rec.reconciler
    assert reconciler is not None
    apps.rec.run(reconciler.reconcile_apps(["web"]))
    signed = apps.ui.sign_in(Role.READ)
    assert "≠ OutOfSync" in signed.get("/apps/web").text
    page = signed.get(f"/apps/web/objects?ref={WEB.key}")
    assert page.status_code == 200, page.text
    deleted = re.search(r'<td class="code del">([^<]*)</td>', page.text)
    added = re.search(r'<td class="code add">([^<]*)</td>', page.text)
    assert deleted is not None and added is not None
    assert deleted.group(1).strip() == "- image: web:hot"
    assert added.group(1).strip() == "- image: web:1"
    assert 'style="' not in page.text  # classes only: the CSP forbids inline styles


def test_a_secret_value_never_reaches_any_page(apps: AppsUI) -> None:
    second_revision(apps)  # the Secret changed in Git: the history diff shows it changed
    encoded = base64.b64encode(b"out-of-band-value").decode()
    apps.rec.world.target.edit(DB, lambda o: o.update(data={"password": encoded}))
    signed = apps.ui.sign_in(Role.READ)
    entries = apps.rec.get("/apps/web/history").json()["entries"]
    pages = {
        "list": signed.get("/apps"),
        "app": signed.get("/apps/web"),
        "object": signed.get(f"/apps/web/objects?ref={DB.key}"),
        "history": signed.get(f"/apps/web/history?from={entries[1]['id']}&to={entries[0]['id']}"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, (name, page.text)
        assert leaks(page.text, "hunter2-never-in-a-page", ROTATED, "out-of-band-value") == [], name
    assert "++++++++" in pages["object"].text and "++++++++" in pages["history"].text
    assert "Secret prod/db" in pages["history"].text


def test_history_lists_entries_and_diffs_two_of_them(apps: AppsUI) -> None:
    second_revision(apps)
    signed = apps.ui.sign_in(Role.READ)
    page = signed.get("/apps/web/history")
    assert page.status_code == 200
    ids = re.findall(r'name="to" value="(\d+)"', page.text)
    assert len(ids) == 2 and "tester" in page.text and "Succeeded" in page.text
    new, old = ids
    diff = signed.get(f"/apps/web/history?from={old}&to={new}")
    assert f"Changes from #{old}" in diff.text
    assert re.search(r'<td class="code add">\s*- image: web:2</td>', diff.text)
    assert re.search(r'<td class="code del">\s*- image: web:1</td>', diff.text)
    assert "Service prod/web" not in diff.text  # unchanged
    bad = signed.get("/apps/web/history?from=x&to=1")
    assert "Pick two entries" in bad.text
    missing = signed.get(f"/apps/web/history?from=999&to={new}")
    assert missing.status_code == 404 and "no history entry 999" in missing.text


def test_the_app_page_lists_promotions_recorded_in_the_hosted_config_repo(
    apps: AppsUI,
) -> None:
    apps.repo.write_objects("app/all.yaml", deployment("web", "web:3"), service("web"), secret())
    apps.repo.commit(
        "Promote registry.local/web:3 to prod\n\n"
        "Conveyor-Image: registry.local/web:3\n"
        "Conveyor-Environment: prod\n"
        "Conveyor-Source-Commit: 0123456789abcdef0123456789abcdef01234567\n"
        "Conveyor-Run: http://127.0.0.1:8080/runs/7\n"
        "Conveyor-Build-Number: 7"
    )
    html = apps.ui.sign_in(Role.READ).get("/apps/web").text
    section = html.split('id="promotions"', 1)[1]
    assert "registry.local/web:3" in section and "prod" in section
    assert '<a href="http://127.0.0.1:8080/runs/7">7</a>' in section
    assert "0123456789ab" in section


def test_an_unknown_app_is_a_404_page(apps: AppsUI) -> None:
    page = apps.ui.sign_in(Role.READ).get("/apps/nope")
    assert page.status_code == 404
    assert "no application named" in page.text and "Traceback" not in page.text


def test_without_a_reconciler_the_pages_say_how_to_get_one(ui: UI) -> None:
    signed = ui.sign_in(Role.READ)
    for path in ("/apps", "/apps/web", "/apps/web/history"):
        page = signed.get(path)
        assert page.status_code == 503, path
        assert "--refresh-url" in page.text and "conveyor up" in page.text


def test_an_unreachable_reconciler_is_a_clear_page(ui: UI, tmp_path: Path) -> None:
    ui.state.reconciler_url = "http://127.0.0.1:9"  # discard port: nothing answers
    page = ui.sign_in(Role.READ).get("/apps")
    assert page.status_code == 502
    assert "Reconciler unreachable" in page.text and "did not answer" in page.text


def test_a_wrong_reconciler_token_says_which_option_to_fix(apps: AppsUI, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n")
    apps.ui.state.reconciler_token_file = str(wrong)
    page = apps.ui.sign_in(Role.READ).get("/apps/web")
    assert page.status_code == 502
    assert "refused this server&#39;s token" in page.text and "--refresh-token-file" in page.text
