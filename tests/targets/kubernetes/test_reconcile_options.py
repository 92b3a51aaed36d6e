"""Sync options reaching the Kubernetes target through the reconciler (kmock's emulator,
extended: tests/targets/kubernetes/emulator.py; no real API server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.behaviour import SyncBehaviour
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.store import Store
from conveyor.targets.kubernetes.target import KubernetesTarget
from tests.reconcile.conftest import application, config_repo
from tests.targets.kubernetes.emulator import ApiServerEmulator, started
from tests.targets.kubernetes.harness import crd, deployment, widget


def plain(obj: dict[str, Any]) -> dict[str, Any]:
    """A manifest as Git holds it: without the label the reconciler stamps."""
    meta = dict(obj["metadata"])
    meta.pop("labels", None)
    return {**obj, "metadata": meta}


def reconcile(
    tmp_path: Path,
    objects: list[dict[str, Any]],
    options: list[str],
    *,
    server: Callable[[str], str] | None = None,
) -> ApiServerEmulator:
    """One pass of an automated app holding `objects` with `options`; the emulator after.
    `server` gives the app's `destination.server` from the emulator's URL (else the
    destination is the target's name)."""
    repo = config_repo(tmp_path)
    repo.write_objects("app/all.yaml", *objects)
    repo.commit("app")
    extra: dict[str, Any] = {"syncPolicy": {"automated": {"prune": True}, "syncOptions": options}}

    async def main() -> ApiServerEmulator:
        async with started(tmp_path) as (emu, config):
            target = KubernetesTarget(name="k8s", api=KubeApi(kubeconfig.load(str(config))))
            if server is not None:
                extra["destination"] = {"server": server(target.server), "namespace": "prod"}
            doc = application("web", repo, "app", target="k8s", extra=extra)
            store = Store.open(tmp_path / "state.db")
            env = Env(
                targets={"k8s": target},
                store=store,
                sources=Sources(tmp_path / "cache"),
                sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
            )
            try:
                status = await Reconciler(parse_applications(doc, "a.yaml"), env).reconcile_all()
                assert status["web"]["operation"]["phase"] == "Succeeded", status["web"]
            finally:
                await target.aclose()
                store.close()
            return emu

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("options", "force"),
    [
        (["ServerSideApply=true", "Force=true"], "true"),
        (["ServerSideApply=true"], None),
        ([], None),
    ],
)
def test_force_conflicts_only_with_server_side_apply_and_force(
    tmp_path: Path, options: list[str], force: str | None
) -> None:
    emu = reconcile(tmp_path, [plain(deployment())], options)
    writes = [r for r in emu.history() if r.method.value == "PATCH" and "dryRun" not in r.params]
    assert writes and {r.params.get("force") for r in writes} == {force}


def test_force_alone_is_not_force_conflicts() -> None:
    how = SyncBehaviour(app_options=(("Force", "true"),))
    assert how.apply_options(plain(deployment())).force_conflicts is False


def test_replace_puts_through_the_reconciler(tmp_path: Path) -> None:
    emu = reconcile(tmp_path, [plain(deployment())], ["Replace=true"])
    writes = [r for r in emu.history() if r.method.value in ("PUT", "POST")]
    assert [r.method.value for r in writes if "dryRun" not in r.params] == ["PUT", "POST"]
    dry = [r for r in writes if "dryRun" in r.params]  # the diff after the sync: a PUT too
    assert [r.method.value for r in dry] == ["PUT"]


def test_a_crd_and_its_custom_resource_sync_together(tmp_path: Path) -> None:
    emu = reconcile(tmp_path, [plain(widget()), plain(crd())], [])
    assert emu.stored(
        "apiextensions.k8s.io/v1/customresourcedefinitions", None, "widgets.example.com"
    )
    stored = emu.stored("example.com/v1/widgets", "prod", "w1")
    assert stored is not None and stored["spec"] == {"size": 3}


def test_create_namespace_creates_the_destination_namespace(tmp_path: Path) -> None:
    emu = reconcile(tmp_path, [plain(deployment())], ["CreateNamespace=true"])
    namespace = emu.stored("v1/namespaces", None, "prod")
    assert namespace is not None and namespace["kind"] == "Namespace"
    patch = next(r for r in emu.history() if r.method.value == "PATCH")
    assert patch.url.path == "/api/v1/namespaces/prod"  # before anything else is written


def test_destination_server_selects_the_target_connected_to_it(tmp_path: Path) -> None:
    emu = reconcile(tmp_path, [plain(deployment())], [], server=lambda url: url + "/")
    assert emu.stored("apps/v1/deployments", "prod", "web") is not None


@pytest.mark.parametrize(("options", "mode"), [(["Validate=false"], "Ignore"), ([], "Strict")])
def test_validate_option_sets_field_validation(
    tmp_path: Path, options: list[str], mode: str
) -> None:
    emu = reconcile(tmp_path, [plain(deployment())], options)
    writes = [r for r in emu.history() if r.method.value == "PATCH"]
    assert writes and {r.params["fieldValidation"] for r in writes} == {mode}
