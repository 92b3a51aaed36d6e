"""A SOPS-encrypted Secret deployed by a real reconciler: its clear value is on the target
and in none of the endpoint's views (app, object with its diff, history and history diff),
which the API and the web UI are built on (issue 17)."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from pyrage import x25519

from conveyor.clients.sops import agekeys, document, files
from conveyor.clients.sops.tree import Rules
from conveyor.targets.base import ObjectRef
from tests.app.reconcilerworld import leaks, live_reconciler, secret
from tests.reconcile.conftest import application, deployment

PASSWORD = "sops-clear-value-not-in-views"
ROTATED = "sops-rotated-value-not-in-views"
NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)


def sealed(identity: x25519.Identity, value: str) -> str:
    doc = secret(value) | {"metadata": {"name": "db", "namespace": "prod"}}
    rules = Rules(encrypted_regex="^(data|stringData)$")
    recipient = agekeys.public_key(identity)
    return files.dump(document.encrypt(doc, [recipient], rules=rules, now=NOW), as_json=False)


def test_views_never_show_a_decrypted_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = x25519.Identity.generate()
    keys = tmp_path / "age.key"
    keys.write_text(f"{identity}\n")
    keys.chmod(0o600)
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys))
    with live_reconciler(tmp_path) as live:
        repo = live.world.repo
        repo.write_objects("app/web.yaml", deployment("web", "web:1"))
        repo.write("app/db.sops.yaml", sealed(identity, PASSWORD))
        repo.commit("v1")
        reconciler = live.start(application("web", repo, "app"))
        live.run(reconciler.sync("web"))
        repo.write("app/db.sops.yaml", sealed(identity, ROTATED))
        repo.commit("v2")
        live.run(reconciler.reconcile_all())
        live.run(reconciler.sync("web"))
        ref = ObjectRef(group="", kind="Secret", namespace="prod", name="db")
        on_target = live.run(live.world.target.get(ref))
        assert on_target is not None and ROTATED in str(on_target) + _decoded(on_target)
        entries = live.get("/apps/web/history").json()["entries"]
        assert len(entries) == 2
        new, old = entries[0]["id"], entries[1]["id"]
        pages = [
            live.get("/apps/web"),
            live.get("/apps/web/object", ref=ref.key),
            live.get("/apps/web/history"),
            live.get("/apps/web/history/diff", **{"from": str(old), "to": str(new)}),
        ]
        for page in pages:
            assert page.status_code == 200, page.text
            assert leaks(page.text, PASSWORD, ROTATED) == [], page.url


def _decoded(obj: dict[str, object]) -> str:
    data = obj.get("data")
    if not isinstance(data, dict):
        return ""
    return " ".join(base64.b64decode(str(v)).decode() for v in data.values())
