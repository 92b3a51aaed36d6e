"""SOPS-encrypted manifests in the config repo are decrypted at render time (issue 17): the
target receives the Secret in clear; the store, the logs, the diff and the status never
carry a value; a Secret that cannot be decrypted is never applied, and the app's status
says why, naming the file."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.diff import ObjectDiff, render_diff

from .conftest import World, application, configmap
from .sopshelp import PASSWORD, SECRET_REF, encrypted, key_file, secret


@pytest.fixture(autouse=True)
def no_sops_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No identities from the environment unless a test sets them (sops' default file is
    under $HOME/.config)."""
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def identity() -> Any:
    return x25519.Identity.generate()


def deploy(
    world: World, identity: Any, decryption: dict[str, Any] | None, text: str = ""
) -> dict[str, Any]:
    world.repo.write("app/db.sops.yaml", text or encrypted(identity))
    world.repo.write_objects("app/cm.yaml", configmap("settings"))
    world.repo.commit()
    extra = {"decryption": decryption} if decryption else {}
    doc = application("web", world.repo, "app", automated={"prune": True}, extra=extra)
    rec = world.reconciler(doc)
    status: dict[str, Any] = asyncio.run(rec.reconcile_all())["web"]
    return status


def test_an_encrypted_secret_reaches_the_target_in_clear(
    world: World, identity: Any, tmp_path: Path
) -> None:
    keys = key_file(tmp_path, identity)
    status = deploy(world, identity, {"provider": "sops", "keyFile": str(keys)})
    assert status["conditions"][0]["reason"] == "Succeeded", status
    live = asyncio.run(world.target.get(SECRET_REF))
    assert live is not None and "sops" not in live
    assert base64.b64decode(live["data"]["password"]).decode() == PASSWORD


def test_the_cleartext_never_reaches_the_store_logs_status_or_diff(
    world: World, identity: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keys = key_file(tmp_path, identity)
    status = deploy(world, identity, {"provider": "sops", "keyFile": str(keys)})
    assert status["conditions"][0]["reason"] == "Succeeded"
    forms = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode()]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert stored
    assert not [f for f in forms if f.encode() in stored]
    assert not [f for f in forms if f in caplog.text]
    assert not [f for f in forms if f in str(status)]
    live = asyncio.run(world.target.get(SECRET_REF))
    changed = secret("a-new-value") | {"metadata": live["metadata"]} if live else secret()
    lines = render_diff(ObjectDiff(ref=SECRET_REF, desired=secret(), live=changed))
    assert not [f for f in forms if f in "\n".join(lines)]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        pytest.param("wrong-key", "WrongKey", id="wrong-key"),
        pytest.param("no-key", "NoKey", id="no-key"),
        pytest.param("tampered", "MacMismatch", id="tampered"),
    ],
)
def test_a_secret_that_cannot_be_decrypted_is_never_applied(
    world: World, identity: Any, tmp_path: Path, setup: str, reason: str
) -> None:
    text = encrypted(identity)
    decryption: dict[str, Any] | None = {
        "provider": "sops",
        "keyFile": str(key_file(tmp_path, identity)),
    }
    if setup == "wrong-key":
        decryption = {
            "provider": "sops",
            "keyFile": str(key_file(tmp_path, x25519.Identity.generate())),
        }
    elif setup == "no-key":
        decryption = None
    else:
        text = text.replace("namespace: prod", "namespace: prod\n  labels: {edited: 'yes'}")
    status = deploy(world, identity, decryption, text)
    ready = status["conditions"][0]
    assert ready["reason"] == "RenderFailed", status
    assert f"SOPS decryption failed ({reason})" in ready["message"]
    assert "app/db.sops.yaml" in ready["message"]
    assert world.target.refs() == []  # not even the ConfigMap beside it
    assert PASSWORD not in str(status)


def test_a_key_file_others_can_read_is_refused_naming_it(
    world: World, identity: Any, tmp_path: Path
) -> None:
    keys = key_file(tmp_path, identity, mode=0o644)
    ready = deploy(world, identity, {"provider": "sops", "keyFile": str(keys)})["conditions"][0]
    assert ready["reason"] == "RenderFailed"
    assert f"{keys}: an age key file must be readable by its owner only" in ready["message"]
    assert world.target.refs() == []


def test_sops_age_key_file_of_the_reconciler_is_used_without_app_config(
    world: World, identity: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file(tmp_path, identity)))
    assert deploy(world, identity, None)["conditions"][0]["reason"] == "Succeeded"
    assert SECRET_REF in world.target.refs()


def test_a_secret_on_the_target_holds_the_key_as_flux_reads_it(world: World, identity: Any) -> None:
    key = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "sops-age", "namespace": "prod"},
        "data": {"age.agekey": base64.b64encode(str(identity).encode()).decode()},
    }
    asyncio.run(world.target.apply(key))
    status = deploy(world, identity, {"provider": "sops", "secretRef": {"name": "sops-age"}})
    assert status["conditions"][0]["reason"] == "Succeeded", status
    assert SECRET_REF in world.target.refs()


def test_a_missing_key_secret_is_named(world: World, identity: Any) -> None:
    status = deploy(world, identity, {"provider": "sops", "secretRef": {"name": "sops-age"}})
    ready = status["conditions"][0]
    assert ready["reason"] == "RenderFailed"
    assert (
        "Secret prod/sops-age named in spec.decryption.secretRef is not on the target"
        in ready["message"]
    )


def test_a_flux_kustomization_decrypts_with_its_secret_ref(world: World, identity: Any) -> None:
    world.repo.write("app/db.sops.yaml", encrypted(identity))
    world.repo.commit()
    key = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "sops-age", "namespace": "flux-system"},
        "stringData": {"identity.agekey": str(identity)},
    }
    asyncio.run(world.target.apply(key))
    flux = f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: config, namespace: flux-system}}
spec: {{interval: 1m, url: {world.repo.url}, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: web
  namespace: flux-system
  annotations: {{conveyor.dev/target: memory}}
spec:
  interval: 10m
  path: ./app
  prune: true
  sourceRef: {{kind: GitRepository, name: config}}
  decryption: {{provider: sops, secretRef: {{name: sops-age}}}}
"""
    (app,) = parse_applications(flux, "apps/flux.yaml")
    assert app.decryption is not None and app.decryption.secret_namespace == "flux-system"
    rec = world.reconciler(flux)
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["conditions"][0]["reason"] == "Succeeded", status
    assert SECRET_REF in world.target.refs()
