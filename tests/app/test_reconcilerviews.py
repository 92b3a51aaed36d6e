"""The reconciler endpoint's read views and its revert command (`app.reconcilerviews`,
`app.reconcilerhttp`), against a real Reconciler over the memory target, over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.app.resourcetree import Sides, nodes
from conveyor.targets.base import ObjectRef
from conveyor.targets.podman.replicas import ReplicaTable, Tracked, fresh_health
from conveyor.targets.podman.views import replica_pods
from tests.app.reconcilerworld import LiveReconciler, leaks, live_reconciler, secret
from tests.reconcile.conftest import application, configmap, deployment, service
from tests.targets.podman.fakes import replica

AUTO = {"prune": True, "selfHeal": True}
PASSWORD = "hunter2-do-not-show"  # the views must never show it
ROTATED = "rotated-do-not-show-either"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def serve(tmp_path: Path, automated: dict[str, Any] | None) -> Iterator[LiveReconciler]:
    """App `web` (a Deployment, a Service, a Secret) synced once, behind the endpoint."""
    with live_reconciler(tmp_path) as here:
        repo = here.world.repo
        repo.write_objects(
            "app/all.yaml", deployment("web", "web:1"), service("web"), secret(PASSWORD)
        )
        repo.commit("v1")
        reconciler = here.start(application("web", repo, "app", automated=automated))
        if automated is None:
            here.run(reconciler.sync("web"))
        yield here


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveReconciler]:
    """Manual sync: out-of-band edits stay until someone syncs."""
    yield from serve(tmp_path, None)


@pytest.fixture
def auto(tmp_path: Path) -> Iterator[LiveReconciler]:
    yield from serve(tmp_path, AUTO)


def test_app_view_has_the_status_and_every_object_with_its_containers(
    live: LiveReconciler,
) -> None:
    body = live.get("/apps/web").json()
    assert body["status"]["sync"]["status"] == "Synced"
    rows = {(r["kind"], r["name"]): r for r in body["resources"]}
    assert set(rows) == {
        ("Deployment", "web"),
        ("Service", "web"),
        ("Secret", "db"),
        ("Container", "main"),
    }
    web, main = rows["Deployment", "web"], rows["Container", "main"]
    assert (web["sync"], web["health"], web["depth"]) == ("Synced", "Healthy", 0)
    assert (main["parent"], main["depth"], main["image"]) == (web["id"], 1, "web:1")
    # depth-first order: the container follows its workload
    order = [r["id"] for r in body["resources"]]
    assert order.index(main["id"]) == order.index(web["id"]) + 1


def test_an_out_of_band_edit_shows_out_of_sync_on_the_object(live: LiveReconciler) -> None:
    ref = ObjectRef(group="", kind="Service", namespace="prod", name="web")
    live.world.target.edit(ref, lambda o: o["spec"].update(ports=[{"port": 81}]))
    assert live.reconciler is not None
    live.run(live.reconciler.reconcile_apps(["web"]))
    rows = {r["kind"]: r for r in live.get("/apps/web").json()["resources"]}
    assert rows["Service"]["sync"] == "OutOfSync"
    assert rows["Deployment"]["sync"] == "Synced"


def test_object_view_shows_both_manifests_and_the_diff(live: LiveReconciler) -> None:
    ref = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
    live.world.target.edit(
        ref, lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="web:evil")
    )
    body = live.get("/apps/web/object", ref=ref.key).json()
    assert "image: web:evil" in body["live"] and "image: web:1" in body["desired"]
    assert body["changed"] is True
    assert "-      - image: web:evil" in body["diff"]
    assert "+      - image: web:1" in body["diff"]


def test_a_secret_value_never_leaves_the_reconciler(live: LiveReconciler) -> None:
    ref = ObjectRef(group="", kind="Secret", namespace="prod", name="db")
    encoded = base64.b64encode(ROTATED.encode()).decode()

    def rotate(obj: dict[str, Any]) -> None:
        # as `kubectl apply` leaves it on a cluster: the applied object, values in clear
        applied = json.dumps({**secret(ROTATED), "data": {"password": encoded}})
        obj["metadata"].setdefault("annotations", {})[LAST_APPLIED] = applied
        obj["data"] = {"password": encoded}

    live.world.target.edit(ref, rotate)
    reply = live.get("/apps/web/object", ref=ref.key)
    body = reply.json()
    assert body["changed"] is True
    assert "++++++++ (live value)" in body["live"]
    assert "++++++++ (desired value)" in body["desired"]
    assert leaks(reply.text, PASSWORD, ROTATED) == []
    assert leaks(live.get("/apps/web").text, PASSWORD, ROTATED) == []


def test_unknown_apps_objects_and_bad_refs_are_refused_with_a_reason(
    live: LiveReconciler,
) -> None:
    assert live.get("/apps/nope").status_code == 404
    other = live.get("/apps/web/object", ref="/ConfigMap/prod/not-mine")
    assert other.status_code == 404 and "not an object of web" in other.json()["error"]
    bad = live.get("/apps/web/object", ref="Deployment-web")
    assert bad.status_code == 400 and "GROUP/KIND/NAMESPACE/NAME" in bad.json()["error"]
    assert live.get("/apps/web/nothing").status_code == 404
    ids = live.get("/apps/web/history/diff", **{"from": "x"})
    assert ids.status_code == 400 and "?from=ID&to=ID" in ids.json()["error"]


def test_views_need_the_bearer_token(live: LiveReconciler) -> None:
    for path in ("/apps/web", "/apps/web/history", "/apps/web/object?ref=a/b/c/d"):
        assert httpx.get(live.url + path).status_code == 401


def test_history_and_the_diff_between_two_entries_redact_secrets(live: LiveReconciler) -> None:
    repo = live.world.repo
    repo.write_objects(
        "app/all.yaml",
        deployment("web", "web:2"),
        service("web"),
        configmap("extra"),
        secret(ROTATED),
    )
    repo.commit("v2")
    assert live.reconciler is not None
    live.run(live.reconciler.sync("web"))
    entries = live.get("/apps/web/history").json()["entries"]
    assert [e["result"] for e in entries] == ["Succeeded", "Succeeded"]
    new, old = entries[0]["id"], entries[1]["id"]
    reply = live.get("/apps/web/history/diff", **{"from": str(old), "to": str(new)})
    body = reply.json()
    changes = {o["object"]: o for o in body["objects"]}
    assert changes["ConfigMap prod/extra"]["change"] == "added"
    web = changes["Deployment.apps prod/web"]
    assert web["change"] == "changed" and "+      - image: web:2" in web["diff"]
    assert f"++++++++ (#{new} value)" in changes["Secret prod/db"]["after"]
    assert "Service prod/web" not in changes  # unchanged objects are left out
    assert leaks(reply.text, PASSWORD, ROTATED) == []


def test_history_diff_of_an_unknown_entry_is_404(live: LiveReconciler) -> None:
    reply = live.get("/apps/web/history/diff", **{"from": "1", "to": "999"})
    assert reply.status_code == 404 and "no history entry 999" in reply.json()["error"]


def test_revert_commits_to_the_config_repo_and_deploys_it(auto: LiveReconciler) -> None:
    live = auto
    repo = live.world.repo
    first = live.get("/apps/web/history").json()["entries"][0]["id"]
    repo.write_objects("app/all.yaml", deployment("web", "web:2"), service("web"), secret(PASSWORD))
    repo.commit("v2")
    assert live.reconciler is not None
    live.run(live.reconciler.reconcile_apps(["web"]))
    reply = live.post("/apps/web/revert", id=str(first))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert len(body["revertCommit"]) == 40
    deployed = live.world.target.peek(
        ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
    )
    assert deployed is not None
    assert deployed["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"
    again = live.post("/apps/web/revert", id=str(first))  # nothing changed since
    assert again.status_code == 409  # a refusal with the reason, never a 500
    assert live.post("/apps/web/revert", id="abc").status_code == 409


def test_the_tree_nests_replicas_and_their_containers_under_their_workload() -> None:
    web = deployment("web", "web:1")
    web["metadata"]["namespace"] = "prod"
    ref = ObjectRef.of(web)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-abc-0",
            "namespace": "prod",
            "ownerReferences": [{"kind": "Deployment", "name": "web"}],
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "web:1",
                    "ready": True,
                    "restartCount": 2,
                    "state": {"running": {}},
                }
            ],
        },
    }
    other = {
        **pod,
        "metadata": {
            **pod["metadata"],
            "name": "x-0",
            "ownerReferences": [{"kind": "Deployment", "name": "x"}],
        },
    }
    sides = Sides(
        desired={ref: web},
        live={ref: web},
        inventory=frozenset({ref}),
        plan=None,
        health=None,
        replicas=(pod, other),
    )
    rows = nodes(sides, lambda obj: ("Healthy", "running"))
    shape = [(r["role"], r["name"], r["depth"]) for r in rows]
    assert shape == [
        ("object", "web", 0),
        ("replica", "web-abc-0", 1),
        ("container", "main", 2),
    ]
    assert rows[0]["sync"] == "Unknown"  # no comparison yet
    assert rows[2]["restarts"] == 2 and rows[2]["health"] == "Healthy"


def test_objects_nest_under_their_owner_references() -> None:
    parent = configmap("parent")
    child = configmap("child")
    for obj in (parent, child):
        obj["metadata"]["namespace"] = "prod"
    parent["metadata"]["uid"] = "u-1"
    child["metadata"]["ownerReferences"] = [{"kind": "ConfigMap", "name": "parent", "uid": "u-1"}]
    refs = {ObjectRef.of(o): o for o in (parent, child)}
    sides = Sides(desired={}, live=refs, inventory=frozenset(), plan=None, health=None)
    rows = nodes(sides, lambda obj: ("Healthy", ""))
    assert [(r["name"], r["depth"], r["parent"]) for r in rows] == [
        ("parent", 0, ""),
        ("child", 1, ObjectRef.of(parent).key),
    ]


def test_an_app_whose_target_is_not_configured_is_a_409_with_the_reason(tmp_path: Path) -> None:
    with live_reconciler(tmp_path) as here:
        here.world.repo.write_objects("app/cm.yaml", configmap("c"))
        here.world.repo.commit("v1")
        here.start(application("lost", here.world.repo, "app", target="nowhere"))
        reply = here.get("/apps/lost")
        assert reply.status_code == 409 and "no target named 'nowhere'" in reply.json()["error"]


def test_podman_replicas_as_its_views_report_them_nest_under_their_deployment() -> None:
    table = ReplicaTable()
    for slot in (0, 1):
        one = replica(f"t_demo_web-h-{slot}", f"web-h-{slot}", "h", slot)
        table.tracked[one.name] = Tracked(replica=one, health=fresh_health(one, ready=True))
    web = deployment("web", "web:1")
    web["metadata"]["namespace"] = "demo"
    ref = ObjectRef.of(web)
    sides = Sides(
        desired={ref: web},
        live={ref: web},
        inventory=frozenset({ref}),
        plan=None,
        health=None,
        replicas=tuple(replica_pods(table)),
    )
    rows = nodes(sides, lambda obj: ("Healthy", ""))
    shape = [(r["role"], r["name"], r["depth"]) for r in rows]
    assert shape == [
        ("object", "web", 0),
        ("replica", "web-h-0", 1),
        ("container", "web", 2),
        ("replica", "web-h-1", 1),
        ("container", "web", 2),
    ]
    assert rows[1]["ref"] == "/Pod/demo/web-h-0"  # links to the object page
