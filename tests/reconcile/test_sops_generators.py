"""SOPS ciphertext outside a SOPS document (`reconcile.ciphertext`): Flux decrypts the
encrypted files a kustomize secretGenerator reads before the build; Conveyor does not, so a
Secret generated from a sops dotenv file (written here by the real `sops` binary) fails the
render, naming the object and key, instead of reaching the workload as `ENC[…]` strings.
An object annotated `conveyor.dev/sops-ciphertext: keep` carries its ciphertext on purpose."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519

from conveyor.clients.sops import agekeys
from tests.clients.sops.realsops import run_sops

from .conftest import World, application, configmap

KUSTOMIZATION = """\
resources: [cm.yaml]
secretGenerator:
  - name: db
    envs: [db.enc.env]
"""


def reconcile(world: World) -> dict[str, Any]:
    doc = application("web", world.repo, "app", automated={"prune": True})
    rec = world.reconciler(doc)
    status: dict[str, Any] = asyncio.run(rec.reconcile_all())["web"]
    return status


def test_a_secret_generated_from_a_sops_dotenv_file_is_refused_not_deployed(
    world: World, tmp_path: Path
) -> None:
    plain = tmp_path / "db.env"
    plain.write_text("password=hunter2-dotenv\n")
    recipient = agekeys.public_key(x25519.Identity.generate())
    dotenv = ["--input-type", "dotenv", "--output-type", "dotenv"]
    out = run_sops("--encrypt", "--age", recipient, *dotenv, str(plain)).stdout
    assert "sops_mac=ENC[" in out
    world.repo.write("app/db.enc.env", out)
    world.repo.write("app/kustomization.yaml", KUSTOMIZATION)
    world.repo.write_objects("app/cm.yaml", configmap("settings"))
    world.repo.commit()
    status = reconcile(world)
    ready = status["conditions"][0]
    assert ready["reason"] == "RenderFailed", ready
    assert "holds SOPS ciphertext" in ready["message"]
    assert "Secret " in ready["message"] and "data.password" in ready["message"]
    assert "secretGenerator" in ready["message"]
    assert world.target.refs() == []  # nothing applied, not even the ConfigMap
    assert "hunter2" not in str(status)


@pytest.mark.parametrize("keep", [False, True], ids=["unannounced", "kept"])
def test_a_configmap_holding_ciphertext_needs_the_keep_annotation(world: World, keep: bool) -> None:
    held = configmap("helm-secrets", {"values.yaml": "token: ENC[AES256_GCM,data:AAAA,iv:x]"})
    if keep:
        held["metadata"]["annotations"] = {"conveyor.dev/sops-ciphertext": "keep"}
    world.repo.write_objects("app/held.yaml", held)
    world.repo.commit()
    status = reconcile(world)
    ready = status["conditions"][0]
    if keep:
        assert ready["reason"] == "Succeeded", ready
        assert [r.name for r in world.target.refs()] == ["helm-secrets"]
    else:
        assert ready["reason"] == "RenderFailed", ready
        assert "ConfigMap" in ready["message"] and "data.values.yaml" in ready["message"]
