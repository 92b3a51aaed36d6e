"""Text from Git and from targets reaches the Applications pages escaped (issue 15):
object names, labels, annotations, data, images, and the messages of results and
conditions carry script payloads that must come out inert on every page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.server.auth import Role
from conveyor.targets.base import ObjectRef
from tests.reconcile.conftest import application, configmap, deployment
from tests.server.ui.appsworld import AppsUI, apps_ui, point_at
from tests.server.ui.conftest import UI

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"><script>alert(1)</script>'
RAW = (IMG, "<script>alert(1)</script>", "onerror=alert(1)>")


def hostile() -> list[dict[str, Any]]:
    named = configmap(IMG, {"k": SCRIPT})
    named["metadata"]["labels"] = {"team": "a"}
    named["metadata"]["annotations"] = {"note": IMG, "quote": SCRIPT}
    web = deployment("web", image=SCRIPT)
    return [named, web, configmap("refused")]


@pytest.fixture
def apps(ui: UI, tmp_path: Path) -> Iterator[AppsUI]:
    with apps_ui(ui, tmp_path) as here:
        # the target refuses one object with a message carrying a payload
        here.rec.world.target.reject = lambda obj: (
            f"refused {IMG}" if obj["metadata"]["name"] == "refused" else None
        )
        here.repo.write_objects("app/all.yaml", *hostile())
        here.repo.commit(f"v1 {SCRIPT}")
        reconciler = here.rec.start(application("web", here.repo, "app"))
        here.rec.run(reconciler.sync("web", by=SCRIPT))
        point_at(ui, here.rec)
        yield here


def test_payloads_come_out_escaped_on_every_applications_page(apps: AppsUI) -> None:
    signed = apps.ui.sign_in(Role.WRITE)
    ref = ObjectRef(group="", kind="ConfigMap", namespace="prod", name=IMG)
    entry = apps.rec.get("/apps/web/history").json()["entries"][0]["id"]
    pages = {
        "list": signed.get("/apps"),
        "app": signed.get("/apps/web"),
        "object": signed.client.get("/apps/web/objects", params={"ref": ref.key}),
        "history": signed.get(f"/apps/web/history?from={entry}&to={entry}"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, (name, page.text)
        for raw in RAW:
            assert raw not in page.text, (name, raw)
    app = pages["app"].text
    assert "&lt;img src=x onerror=alert(1)&gt;" in app  # the object's name, the message
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in app  # the image, who synced
    assert "refused &lt;img" in app  # the target's refusal, in events and conditions
    shown = pages["object"].text
    assert "note: &lt;img src=x onerror=alert(1)&gt;" in shown
    assert "k: &#39;&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;" in shown
