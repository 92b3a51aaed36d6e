"""A `type: kubernetes` target from conveyor.yaml: options, errors, and a working
connection (to kmock's emulator)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from conveyor.app.cmd_reconcile import make_target
from conveyor.clients.kubeconfig import KubeConfigError
from conveyor.core.errors import UserError
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.config import load_config
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.store import Store
from conveyor.targets.kubernetes.target import KubernetesTarget
from conveyor.targets.kubernetes.tracking import Tracking
from tests.targets.kubernetes.emulator import kubeconfig_for, started
from tests.targets.kubernetes.harness import deployment


def config_file(tmp_path: Path, **target: object) -> Path:
    path = tmp_path / "conveyor.yaml"
    entry = {"name": "prod", "type": "kubernetes", **target}
    path.write_text(yaml.safe_dump({"targets": [entry]}))
    return path


def built(tmp_path: Path, **target: object) -> KubernetesTarget:
    (config,) = load_config(config_file(tmp_path, **target)).targets
    made = make_target(config, state_root=tmp_path)
    assert isinstance(made, KubernetesTarget)
    return made


def test_kubeconfig_and_context_select_the_cluster(tmp_path: Path) -> None:
    path = kubeconfig_for("https://10.1.2.3:6443", tmp_path / "kc", context="prod-admin")
    target = built(tmp_path, kubeconfig=str(path), context="prod-admin", tracking="label")
    assert target.name == "prod"
    assert target.api.server == "https://10.1.2.3:6443"
    assert target.tracking is Tracking.LABEL
    asyncio.run(target.aclose())


def test_a_wrong_context_names_the_file(tmp_path: Path) -> None:
    path = kubeconfig_for("https://10.1.2.3:6443", tmp_path / "kc")
    with pytest.raises(KubeConfigError, match="context 'nope' is not in the kubeconfig") as err:
        built(tmp_path, kubeconfig=str(path), context="nope")
    assert str(path) in str(err.value)


def test_unknown_options_are_refused(tmp_path: Path) -> None:
    path = kubeconfig_for("https://10.1.2.3:6443", tmp_path / "kc")
    with pytest.raises(UserError, match=r"unknown option\(s\) namespace"):
        built(tmp_path, kubeconfig=str(path), namespace="x")
    with pytest.raises(UserError, match="tracking 'labels' is not a tracking method"):
        built(tmp_path, kubeconfig=str(path), tracking="labels")


@pytest.mark.skipif(
    Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists(),
    reason="runs inside a Kubernetes Pod: in-cluster configuration exists",
)
def test_no_kubeconfig_outside_a_cluster_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="not running in a cluster"):
        built(tmp_path)


def test_the_configured_target_applies_to_the_cluster(tmp_path: Path) -> None:
    async def main() -> None:
        async with started(tmp_path) as (emu, path):
            target = built(tmp_path, kubeconfig=str(path), resync="5s")
            try:
                await target.apply(deployment())
                assert [o["metadata"]["name"] for o in await target.list_owned("web")] == ["web"]
            finally:
                await target.aclose()
            assert target.resync == 5.0
            assert emu.stored("apps/v1/deployments", "prod", "web") is not None

    asyncio.run(main())


def test_destination_server_urls_map_onto_kubernetes_targets(tmp_path: Path) -> None:
    path = kubeconfig_for("https://10.1.2.3:6443", tmp_path / "kc")
    target = built(tmp_path, kubeconfig=str(path))
    store = Store.open(tmp_path / "state.db")
    try:
        env = Env(targets={"prod": target}, store=store, sources=Sources(tmp_path / "cache"))
        assert env.target_named("https://10.1.2.3:6443") is target
        assert env.target_named("prod") is target
        assert env.target_named("https://10.9.9.9:6443") is None
    finally:
        store.close()
        asyncio.run(target.aclose())


def test_destination_server_must_be_a_url() -> None:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {
            "source": {"repoURL": "https://example.com/r.git", "path": "."},
            "destination": {"server": "prod-cluster", "namespace": "web"},
        },
    }
    with pytest.raises(UserError, match="is not a cluster URL"):
        parse_applications(yaml.safe_dump(doc), "apps/web.yaml")
    doc["spec"]["destination"]["server"] = "https://10.1.2.3:6443/"
    (app,) = parse_applications(yaml.safe_dump(doc), "apps/web.yaml")
    assert app.target == "https://10.1.2.3:6443"
