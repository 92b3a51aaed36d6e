"""The `kubernetes` target against kmock's emulator (extended where a real API server does
more: tests/targets/kubernetes/emulator.py). Requests are checked on the emulator's
request history; nothing here ran against a real API server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conveyor.targets.base import (
    ApplyOptions,
    ChangeFeed,
    EventKind,
    ObjectRef,
    Propagation,
    TargetEvent,
    TargetRejected,
)
from conveyor.targets.kubernetes.target import KubernetesTarget
from conveyor.targets.kubernetes.tracking import INSTANCE_LABEL, TRACKING_ID, Tracking
from tests.targets.kubernetes.emulator import APPLY_PATCH, ApiServerEmulator
from tests.targets.kubernetes.harness import by_hand, crd, deployment, run, widget

WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


def test_apply_creates_then_updates_with_server_side_apply(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(deployment(image="web:1"))
        live = await target.apply(deployment(image="web:2"))
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
        assert (await target.get(WEB)) == live
        patches = [r for r in emu.history() if r.method.value == "PATCH"]
        assert [r.headers["Content-Type"] for r in patches] == [APPLY_PATCH] * 2
        strict = {"fieldManager": "conveyor", "fieldValidation": "Strict"}
        assert all(dict(r.params) == strict for r in patches)

    run(tmp_path, scenario)


def test_force_conflicts_sends_force_true(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(deployment(), options=ApplyOptions(server_side=True))
        await target.apply(
            deployment(), options=ApplyOptions(server_side=True, force_conflicts=True)
        )
        patches = [r for r in emu.history() if r.method.value == "PATCH"]
        assert [r.params.get("force") for r in patches] == [None, "true"]

    run(tmp_path, scenario)


def test_replace_option_puts_the_object(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(deployment())
        await target.apply(deployment(image="web:9"), options=ApplyOptions(replace=True))
        (put,) = [r for r in emu.history() if r.method.value == "PUT"]
        assert put.url.path == "/apis/apps/v1/namespaces/prod/deployments/web"

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("tracking", "label", "annotation"),
    [
        (Tracking.LABEL, "web", None),
        (Tracking.ANNOTATION, None, "web:apps/Deployment:prod/web"),
        (Tracking.ANNOTATION_LABEL, "web", "web:apps/Deployment:prod/web"),
    ],
)
def test_tracking_marks_are_argo_cd_s(
    tmp_path: Path, tracking: Tracking, label: str | None, annotation: str | None
) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        live = await target.apply(deployment())
        meta = live["metadata"]
        assert meta["labels"].get(INSTANCE_LABEL) == label
        assert (meta.get("annotations") or {}).get(TRACKING_ID) == annotation
        assert [o["metadata"]["name"] for o in await target.list_owned("web")] == ["web"]
        assert await target.list_owned("other") == []

    run(tmp_path, scenario, tracking=tracking)


def test_list_owned_selects_by_tracking_label_on_known_kinds_only(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(deployment())
        await target.apply(deployment(name="api", namespace="staging"))
        await target.apply({**deployment(name="x"), "metadata": {"name": "x", "namespace": "p"}})
        found = await target.list_owned("web")
        assert sorted(o["metadata"]["name"] for o in found) == ["api", "web"]
        lists = [r for r in emu.history() if "labelSelector" in r.params]
        # list_owned selects the app; the watches select any owned object (an existence
        # selector: one watch per kind and namespace for every app), only where it applied.
        assert {r.params["labelSelector"] for r in lists} == {
            f"{INSTANCE_LABEL}=web",
            INSTANCE_LABEL,
        }
        watched = {r.url.path for r in lists if r.params["labelSelector"] == INSTANCE_LABEL}
        assert watched == {
            "/apis/apps/v1/namespaces/prod/deployments",
            "/apis/apps/v1/namespaces/staging/deployments",
        }
        paths = {r.url.path.rsplit("/", 1)[-1] for r in lists}
        assert "deployments" in paths and "configmaps" in paths
        assert "pods" not in paths and "events" not in paths  # not every kind served

    run(tmp_path, scenario)


def test_annotation_tracking_ignores_a_copy_carrying_the_label(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        live = await target.apply(deployment())
        copy = {**live, "metadata": {**live["metadata"], "name": "copy"}}
        copy["metadata"].pop("resourceVersion")
        emu.objects["apps/v1/deployments", "prod", "copy"] = copy  # same marks, other name
        found = await target.list_owned("web")
        assert [o["metadata"]["name"] for o in found] == ["web"]

    run(tmp_path, scenario, tracking=Tracking.ANNOTATION)


@pytest.mark.parametrize("policy", list(Propagation))
def test_delete_sends_the_prune_propagation_policy(tmp_path: Path, policy: Propagation) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(deployment())
        assert await target.delete(WEB, propagation=policy) is True
        assert await target.get(WEB) is None
        assert await target.delete(WEB, propagation=policy) is False
        first = next(r for r in emu.history() if r.method.value == "DELETE")
        assert first.params["propagationPolicy"] == policy.value.capitalize()

    run(tmp_path, scenario)


def test_crd_then_custom_resource_refreshes_discovery(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        ref = ObjectRef(group="example.com", kind="Widget", namespace="prod", name="w1")
        assert await target.get(ref) is None  # not served yet: nothing there
        with pytest.raises(TargetRejected, match="CustomResourceDefinition is missing"):
            await target.apply(widget())
        await target.apply(crd())
        live = await target.apply(widget())
        assert live["spec"] == {"size": 3}
        owned = {o["kind"] for o in await target.list_owned("web")}
        assert owned == {"CustomResourceDefinition", "Widget"}

    run(tmp_path, scenario)


def test_api_errors_become_rejections_with_the_users_message(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        message = (
            'deployments.apps "web" is forbidden: User "ci" cannot patch resource '
            '"deployments" in API group "apps" in the namespace "prod"'
        )
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403}
        emu.fail("PATCH", "/deployments/web", 403, {**status, "message": message})
        with pytest.raises(TargetRejected) as caught:
            await target.apply(deployment())
        assert caught.value.ref == WEB
        assert 'may not patch deployments.apps in namespace "prod"' in str(caught.value)

    run(tmp_path, scenario)


def test_dry_run_answers_what_the_server_would_store_and_stores_nothing(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        answer = await target.dry_run(deployment())
        assert answer is not None and answer["spec"]["replicas"] == 1  # defaulted
        assert await target.get(WEB) is None
        (patch,) = [r for r in emu.history() if r.method.value == "PATCH"]
        assert patch.params["dryRun"] == "All"
        assert patch.headers["Content-Type"] == APPLY_PATCH

    run(tmp_path, scenario)


def test_dry_run_of_a_kind_not_served_yet_is_none_when_skipping_is_allowed(
    tmp_path: Path,
) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        assert await target.dry_run(widget(), options=ApplyOptions(skip_dry_run=True)) is None
        with pytest.raises(TargetRejected, match="CustomResourceDefinition is missing"):
            await target.dry_run(widget())

    run(tmp_path, scenario)


def test_events_report_changes_made_outside_the_target(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(deployment())
        await target.apply(deployment(name="api"))
        stream = target.events()
        await asyncio.sleep(0.2)  # the informer's first LIST fills its cache: no drift
        await by_hand(
            emu, "/apis/apps/v1/namespaces/prod/deployments/web", {"spec": {"replicas": 5}}
        )
        await by_hand(emu, "/apis/apps/v1/namespaces/prod/deployments/api")
        seen: set[TargetEvent] = set()
        while len(seen) < 2:
            seen.add(await asyncio.wait_for(anext(stream), 5))
        api = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="api")
        assert seen == {
            TargetEvent(ref=WEB, kind=EventKind.CHANGED, app="web"),
            TargetEvent(ref=api, kind=EventKind.DELETED, app="web"),
        }

    run(tmp_path, scenario)


def test_own_writes_are_not_reported_as_events(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        seen: list[TargetEvent] = []

        async def read() -> None:
            async for event in target.events():
                seen.append(event)

        reader = asyncio.create_task(read())
        await target.apply(deployment())  # starts the watch of Deployments
        await asyncio.sleep(0.2)
        await target.apply(deployment(image="web:2"))  # its MODIFIED event is our own
        await target.apply(deployment(name="api"))  # and so is this ADDED
        await target.delete(WEB)  # and this DELETED
        await asyncio.sleep(0.5)
        assert seen == []
        path = "/apis/apps/v1/namespaces/prod/deployments/api"
        await by_hand(emu, path, {"spec": {"replicas": 3}})
        async with asyncio.timeout(5):
            while not seen:
                await asyncio.sleep(0.01)
        api = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="api")
        assert seen == [TargetEvent(ref=api, kind=EventKind.CHANGED, app="web")]
        reader.cancel()

    run(tmp_path, scenario)


def test_a_kind_it_may_not_list_everywhere_is_listed_where_it_wrote_or_skipped(
    tmp_path: Path,
) -> None:
    """Namespaced Roles (as the chart grants) forbid the cluster-wide list: a common kind
    never applied is skipped; an applied one is listed in the namespaces it was written
    to, and a refusal there is an error. The 403 bodies are recorded, not from a server."""

    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        message = 'secrets is forbidden: User "ci" cannot list resource "secrets" in API group ""'
        denied = {"kind": "Status", "apiVersion": "v1", "code": 403, "message": message}
        await target.apply(deployment())
        emu.fail("GET", "/api/v1/secrets", 403, denied)
        assert [o["metadata"]["name"] for o in await target.list_owned("web")] == ["web"]
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
        secret["metadata"].update(namespace="prod", labels={"conveyor.dev/app": "web"})
        await target.apply(secret)
        await asyncio.sleep(0.2)  # the secrets watch in prod has made its first LIST
        emu.fail("GET", "/api/v1/secrets", 403, denied)
        found = await target.list_owned("web")
        assert sorted(o["metadata"]["name"] for o in found) == ["s", "web"]
        mine = f"{INSTANCE_LABEL}=web"  # list_owned's selector, not the watches'
        listed = [r.url.path for r in emu.history() if r.params.get("labelSelector") == mine]
        assert "/api/v1/namespaces/prod/secrets" in listed
        emu.fail("GET", "/api/v1/secrets", 403, denied)
        emu.fail("GET", "/api/v1/namespaces/prod/secrets", 403, denied)
        with pytest.raises(TargetRejected, match="may not list secrets"):
            await target.list_owned("web")

    run(tmp_path, scenario)


def test_a_custom_resource_waits_for_its_just_applied_crd_to_be_served(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        await target.apply(crd())
        del emu.resources["example.com/v1/widgets"]  # not established yet

        async def establish() -> None:
            await asyncio.sleep(0.3)
            emu.resources["example.com/v1/widgets"] = {"kind": "Widget", "namespaced": True}

        later = asyncio.create_task(establish())
        live = await target.apply(widget())
        await later
        assert live["spec"] == {"size": 3}

    run(tmp_path, scenario)


def test_a_kind_of_no_crd_applied_here_fails_at_once(tmp_path: Path) -> None:
    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TargetRejected, match="CustomResourceDefinition is missing"):
            await target.apply(widget())
        assert asyncio.get_running_loop().time() - started < 1.0

    run(tmp_path, scenario)


def test_health_waits_wake_on_the_watch_event_of_a_change(tmp_path: Path) -> None:
    """`changed` (the ChangeFeed `reconcile.sync` waits on) returns on the object's watch
    event, well before its one-second recheck; a change to another object does not wake."""

    async def scenario(target: KubernetesTarget, emu: ApiServerEmulator) -> None:
        assert isinstance(target, ChangeFeed)
        await target.apply(deployment())
        await target.apply(deployment(name="api"))
        await asyncio.sleep(0.2)  # the Deployments watch has listed
        waiting = asyncio.create_task(target.changed([WEB], timeout=5))
        await by_hand(
            emu, "/apis/apps/v1/namespaces/prod/deployments/api", {"spec": {"replicas": 2}}
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()  # another object's change
        started = time.monotonic()
        await by_hand(
            emu, "/apis/apps/v1/namespaces/prod/deployments/web", {"spec": {"replicas": 4}}
        )
        await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - started < 0.5

    run(tmp_path, scenario)
