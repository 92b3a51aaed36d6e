"""An encrypted Secret that a kustomization transforms (namespace, labels) still decrypts:
the committed file's MAC is verified and its clear values carried into the built object;
an encrypted value the committed file does not hold is refused (issue 17). Runs the real
`kubectl kustomize`."""

from __future__ import annotations

import asyncio
import base64
import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyrage import x25519

from conveyor.clients.sops import agekeys, document, files
from conveyor.clients.sops.tree import Rules
from conveyor.targets.base import ObjectRef
from tests.clients.sops.realsops import run_sops

from .conftest import World, application
from .sopshelp import PASSWORD, encrypted, key_file, secret

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
labels:
  - includeSelectors: true
    pairs: {environment: dev}
resources:
  - db.sops.yaml
"""
MOVED = ObjectRef(group="", kind="Secret", namespace="shop", name="db")


@pytest.fixture(autouse=True)
def no_sops_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def reconcile(world: World, keys: Path) -> dict[str, Any]:
    world.repo.write("app/kustomization.yaml", KUSTOMIZATION)
    world.repo.commit()
    extra = {"decryption": {"provider": "sops", "keyFile": str(keys)}}
    rec = world.reconciler(application("web", world.repo, "app", automated={}, extra=extra))
    status: dict[str, Any] = asyncio.run(rec.reconcile_all())["web"]
    return status


def test_a_kustomization_may_set_namespace_and_labels_on_an_encrypted_secret(
    world: World, tmp_path: Path
) -> None:
    identity = x25519.Identity.generate()
    world.repo.write("app/db.sops.yaml", encrypted(identity))
    status = reconcile(world, key_file(tmp_path, identity))
    assert status["conditions"][0]["reason"] == "Succeeded", status
    live = asyncio.run(world.target.get(MOVED))
    assert live is not None and "sops" not in live
    assert live["metadata"]["labels"]["environment"] == "dev"
    assert base64.b64decode(live["data"]["password"]).decode() == PASSWORD


def test_a_patch_bringing_a_foreign_ciphertext_is_refused(world: World, tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    world.repo.write("app/db.sops.yaml", encrypted(identity))
    other = document.encrypt(
        {"stringData": {"password": "smuggled"}},
        [agekeys.public_key(identity)],
        rules=Rules(),
        now=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    patch = (
        "patches:\n  - target: {kind: Secret, name: db}\n    patch: |-\n"
        "      - op: replace\n        path: /stringData/password\n"
        f"        value: {other['stringData']['password']}\n"
    )
    world.repo.write("app/kustomization.yaml", KUSTOMIZATION + patch)
    world.repo.write("app/other.txt", files.dump(other, as_json=False))
    world.repo.commit()
    extra = {"decryption": {"provider": "sops", "keyFile": str(key_file(tmp_path, identity))}}
    rec = world.reconciler(application("web", world.repo, "app", automated={}, extra=extra))
    ready = asyncio.run(rec.reconcile_all())["web"]["conditions"][0]
    assert ready["reason"] == "RenderFailed", ready
    assert ready["message"].startswith(
        "SOPS decryption failed (MacMismatch): app/db.sops.yaml: Secret shop/db: "
        "an encrypted value is not one of the file's"
    )
    assert world.target.refs() == []


def test_a_secret_the_real_sops_encrypted_deploys(world: World, tmp_path: Path) -> None:
    """The file as `sops --encrypt --age R --encrypted-regex …` (getsops/sops 3.11) writes
    it, comments encrypted and all, through the kustomization's transforms."""
    identity = x25519.Identity.generate()
    plain = tmp_path / "db.yaml"
    plain.write_text("# the database password\n" + yaml.safe_dump(secret()))
    flags = ["--encrypted-regex", "^(data|stringData)$"]
    out = run_sops("--encrypt", "--age", agekeys.public_key(identity), *flags, str(plain))
    world.repo.write("app/db.sops.yaml", out.stdout)
    status = reconcile(world, key_file(tmp_path, identity))
    assert status["conditions"][0]["reason"] == "Succeeded", status
    live = asyncio.run(world.target.get(MOVED))
    assert live is not None and "sops" not in live
    assert base64.b64decode(live["data"]["password"]).decode() == PASSWORD
