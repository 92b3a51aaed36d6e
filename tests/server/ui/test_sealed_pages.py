"""A SealedSecret in the config repo (issue 17): the reconciler unseals it for its
(non-Kubernetes) target, and its values reach the target only: not the reconciler's API
(app, object, history diff), not a UI page, not the log. The live reconciler is the real
one behind its real endpoint (`tests.app.reconcilerworld`) with the memory target; the
UI is the real server pointed at it."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealedsecret
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sealkeys import SealingKeys
from conveyor.reconcile.unseal import Unsealer
from conveyor.server.auth import Role
from conveyor.targets.base import ObjectRef
from tests.app.reconcilerworld import leaks
from tests.reconcile.conftest import World, application, deployment
from tests.server.ui.appsworld import AppsUI, apps_ui, point_at
from tests.server.ui.conftest import UI

FIRST = "sealed-first-never-shown-5d1"
SECOND = "sealed-second-never-shown-a40"
DB = ObjectRef(group="", kind="Secret", namespace="prod", name="db")


@dataclass
class SealingWorld(World):
    """The reconciler test world, with an unsealer for the memory target."""

    unsealer: Unsealer = field(default_factory=Unsealer)

    def reconciler(self, *docs: str, **options: Any) -> Reconciler:
        made = super().reconciler(*docs, **options)
        made.env.unsealer = self.unsealer
        return made


def sealed(keys: SealingKeys, value: str) -> dict[str, Any]:
    public = keys.active().certificate().public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "stringData": {"password": value},
    }
    return sealedsecret.seal(secret, public)


@pytest.fixture
def apps(ui: UI, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[AppsUI]:
    caplog.set_level(logging.DEBUG)  # from the first pass on: the log is checked too
    keys = SealingKeys(tmp_path / "sealing")
    keys.generate(bits=2048)
    with apps_ui(ui, tmp_path) as here:
        plain = here.rec.world
        here.rec.world = SealingWorld(
            repo=plain.repo,
            target=plain.target,
            store=plain.store,
            cache=plain.cache,
            unsealer=Unsealer(keys={"memory": keys}),
        )
        here.repo.write_objects("app/all.yaml", deployment("web"), sealed(keys, FIRST))
        here.repo.commit("v1")
        reconciler = here.rec.start(application("web", here.repo, "app"))
        here.rec.run(reconciler.sync("web", by="tester"))
        here.repo.write_objects("app/all.yaml", deployment("web"), sealed(keys, SECOND))
        here.repo.commit("v2")
        here.rec.run(reconciler.sync("web", by="tester"))
        point_at(ui, here.rec)
        yield here


def test_sealed_values_reach_the_target_and_no_view_page_or_log(
    apps: AppsUI, caplog: pytest.LogCaptureFixture
) -> None:
    live = apps.rec.world.target.peek(DB)
    assert live is not None
    assert base64.b64decode(live["data"]["password"]).decode() == SECOND
    entries = apps.rec.get("/apps/web/history").json()["entries"]
    new, old = entries[0]["id"], entries[1]["id"]
    api = {
        "app": apps.rec.get("/apps/web"),
        "object": apps.rec.get("/apps/web/object", ref=DB.key),
        "history": apps.rec.get("/apps/web/history"),
        "history diff": apps.rec.get(
            "/apps/web/history/diff", **{"from": str(old), "to": str(new)}
        ),
    }
    signed = apps.ui.sign_in(Role.READ)
    pages = {
        "list page": signed.get("/apps"),
        "app page": signed.get("/apps/web"),
        "object page": signed.get(f"/apps/web/objects?ref={DB.key}"),
        "history page": signed.get(f"/apps/web/history?from={old}&to={new}"),
    }
    for name, reply in {**api, **pages}.items():
        assert reply.status_code == 200, (name, reply.text)
        assert leaks(reply.text, FIRST, SECOND) == [], name
    assert "Secret prod/db" in api["history diff"].text  # the change is shown, redacted
    assert "++++++++" in pages["history page"].text
    assert "unsealed 1 SealedSecret(s) for target memory" in caplog.text
    assert leaks(caplog.text, FIRST, SECOND) == []
