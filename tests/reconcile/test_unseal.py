"""SealedSecrets through the reconciler (`reconcile.unseal`, hooked into `steps.render`):
a real Git config repo, the memory target (a non-Kubernetes target, so Conveyor unseals
for it), a SQLite store. The same target registered as a controller target stands for a
Kubernetes target: there the SealedSecret is applied as it is."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealedsecret
from conveyor.core.sealing import Scope
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.config import load_config
from conveyor.reconcile.diff import render_diff
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sealkeys import SealingKeys
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.reconcile.unseal import Unsealer
from conveyor.targets.base import OWNER_LABEL, ObjectRef
from tests.reconcile.conftest import World, application, configmap

AUTO = {"prune": True}
VALUE = "unsealed-only-on-the-target-7f3a"
SECRET = ObjectRef(group="", kind="Secret", namespace="prod", name="db")
SEALED = ObjectRef(group="bitnami.com", kind="SealedSecret", namespace="prod", name="db")


@pytest.fixture
def keys(tmp_path: Path) -> SealingKeys:
    keys = SealingKeys(tmp_path / "sealing")
    keys.generate(bits=2048)
    return keys


def public(keys: SealingKeys) -> rsa.RSAPublicKey:
    key = keys.active().certificate().public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def sealed(
    keys: SealingKeys, value: str = VALUE, *, namespace: str = "prod", **notes: str
) -> dict[str, Any]:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": namespace},
        "stringData": {"password": value},
    }
    doc = sealedsecret.seal(secret, public(keys), scope=Scope.STRICT)
    if notes:
        doc["metadata"]["annotations"] = notes
    return doc


def reconciler(world: World, unsealer: Unsealer, *docs: str) -> Reconciler:
    apps = [a for doc in docs for a in parse_applications(doc, "apps.yaml")]
    env = Env(
        targets={"memory": world.target},
        store=world.store,
        sources=Sources(world.cache),
        sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
        unsealer=unsealer,
    )
    return Reconciler(apps, env)


def unsealing(keys: SealingKeys) -> Unsealer:
    return Unsealer(keys={"memory": keys})


def password(world: World) -> str:
    live = world.target.peek(SECRET)
    assert live is not None
    return base64.b64decode(live["data"]["password"]).decode()


def ready(statuses: dict[str, dict[str, Any]]) -> dict[str, Any]:
    condition: dict[str, Any] = statuses["web"]["conditions"][0]
    return condition


def test_a_sealedsecret_reaches_a_non_kubernetes_target_as_its_secret(
    world: World, keys: SealingKeys
) -> None:
    world.repo.write_objects(
        "app/all.yaml", configmap("cfg"), sealed(keys, **{"argocd.argoproj.io/sync-wave": "-1"})
    )
    world.repo.commit()
    rec = reconciler(world, unsealing(keys), application("web", world.repo, "app", automated=AUTO))
    statuses = asyncio.run(rec.reconcile_all())
    assert ready(statuses)["status"] == "True", ready(statuses)
    assert password(world) == VALUE
    assert world.target.peek(SEALED) is None
    live = world.target.peek(SECRET)
    assert live is not None
    assert live["metadata"]["labels"][OWNER_LABEL] == "web"
    assert live["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"
    assert statuses["web"]["sync"]["status"] == "Synced"


def test_a_kubernetes_target_gets_the_sealedsecret_for_its_controller(
    world: World, keys: SealingKeys
) -> None:
    doc = sealed(keys)
    world.repo.write_objects("app/all.yaml", doc)
    world.repo.commit()
    unsealer = Unsealer(keys={}, controlled=frozenset({"memory"}))
    rec = reconciler(world, unsealer, application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    live = world.target.peek(SEALED)
    assert live is not None
    assert live["spec"]["encryptedData"] == doc["spec"]["encryptedData"]
    assert world.target.peek(SECRET) is None


def test_a_sealedsecret_moved_to_another_namespace_fails_strict_scope_and_applies_nothing(
    world: World, keys: SealingKeys
) -> None:
    doc = sealed(keys)
    doc["metadata"]["namespace"] = "staging"  # sealed for prod/db
    world.repo.write_objects("app/all.yaml", configmap("cfg"), doc)
    world.repo.commit()
    rec = reconciler(world, unsealing(keys), application("web", world.repo, "app", automated=AUTO))
    condition = ready(asyncio.run(rec.reconcile_all()))
    assert condition["reason"] == "RenderFailed"
    assert "SealedSecret staging/db: cannot unseal encryptedData.password" in condition["message"]
    assert "moved to another namespace" in condition["message"]
    assert world.target.refs() == []  # not even the ConfigMap: nothing half-applied


def test_a_target_without_keys_says_how_to_get_them(world: World, keys: SealingKeys) -> None:
    world.repo.write_objects("app/all.yaml", sealed(keys))
    world.repo.commit()
    empty = SealingKeys(keys.directory.parent / "empty")
    rec = reconciler(
        world,
        Unsealer(keys={"memory": empty}),
        application("web", world.repo, "app", automated=AUTO),
    )
    condition = ready(asyncio.run(rec.reconcile_all()))
    assert condition["reason"] == "RenderFailed"
    assert "no sealing key in" in condition["message"]
    assert "conveyor seal keygen" in condition["message"]
    assert world.target.refs() == []


def test_values_sealed_before_a_key_rotation_still_unseal(world: World, keys: SealingKeys) -> None:
    old = sealed(keys, "sealed-with-the-old-key")
    keys.generate(bits=2048)  # rotation: the new key seals from now on
    world.repo.write_objects("app/all.yaml", old)
    world.repo.commit()
    rec = reconciler(world, unsealing(keys), application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    assert password(world) == "sealed-with-the-old-key"


def test_a_new_sealed_value_is_applied_and_its_cleartext_stays_out_of_store_logs_and_diffs(
    world: World, keys: SealingKeys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.repo.write_objects("app/all.yaml", sealed(keys))
    world.repo.commit()
    rec = reconciler(world, unsealing(keys), application("web", world.repo, "app"))
    asyncio.run(rec.reconcile_all())
    asyncio.run(rec.sync("web"))
    world.repo.write_objects("app/all.yaml", sealed(keys, "the-second-value-91c2"))
    world.repo.commit()
    statuses = asyncio.run(rec.reconcile_all())
    assert statuses["web"]["sync"]["status"] == "OutOfSync"
    diff_text = "\n".join(line for d in asyncio.run(rec.diff("web")) for line in render_diff(d))
    assert "password" in diff_text  # the diff names the key that changed ...
    asyncio.run(rec.sync("web"))
    assert password(world) == "the-second-value-91c2"
    world.store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    for value in (VALUE, "the-second-value-91c2"):
        for form in (value, base64.b64encode(value.encode()).decode()):
            assert form not in diff_text  # ... never its value
            assert form.encode() not in stored
            assert form not in caplog.text
            assert form not in str(statuses)


def test_key_directories_come_from_the_config_relative_to_its_file(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "conveyor.yaml"
    conf.parent.mkdir()
    conf.write_text(
        "targets:\n"
        "  - {name: local, type: podman}\n"
        "  - {name: edge, type: podman, sealingKeys: keys/edge}\n"
        "  - {name: mem, type: memory}\n"
        "  - {name: prod, type: kubernetes}\n"
        "cache: state/cache\n"
    )
    config = load_config(conf)
    unsealer = Unsealer.from_config(config, tmp_path / "etc" / "state")
    dirs = {name: keys.directory for name, keys in unsealer.keys.items()}
    assert dirs == {
        "local": tmp_path / "etc" / "state" / "sealed-secrets" / "local",
        "edge": tmp_path / "etc" / "keys" / "edge",
        "mem": tmp_path / "etc" / "state" / "sealed-secrets" / "mem",
    }
    assert unsealer.controlled == frozenset({"prod"})
