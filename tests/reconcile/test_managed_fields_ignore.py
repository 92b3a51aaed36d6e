"""`ignoreDifferences[].managedFieldsManagers`: fields the listed managers own, per the
live object's `metadata.managedFields`, are no drift.

The live objects are written by hand in the shape a Kubernetes API server returns them
(FieldsV1 trees as the API reference documents: `f:` fields, `k:` keyed list items,
`v:` set items, `.`), with the HPA's scale writes and `kubectl edit` as other managers;
they were not captured from a real cluster.
"""

from __future__ import annotations

import copy
from typing import Any

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.diff import Normalizer, compare
from conveyor.targets.base import ObjectRef
from conveyor.targets.kubernetes.normalize import SERVER_FIELDS

REF = ObjectRef(group="apps", kind="Deployment", namespace="shop", name="web")


def desired() -> dict[str, Any]:
    containers = [
        {"name": "web", "image": "web:1"},
        {"name": "proxy", "image": "envoy:1"},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": containers}}},
    }


def live() -> dict[str, Any]:
    """Scaled to 5 by the HPA (scale subresource), the web image edited with kubectl, a
    finalizer added by another controller."""
    obj = desired()
    obj["spec"]["replicas"] = 5
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "web:hotfix"
    obj["metadata"]["finalizers"] = ["example.com/protect"]
    obj["metadata"]["managedFields"] = [
        {
            "manager": "conveyor",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:spec": {
                    "f:replicas": {},
                    "f:template": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}},
                                'k:{"name":"proxy"}': {".": {}, "f:image": {}, "f:name": {}},
                            }
                        }
                    },
                }
            },
        },
        {
            "manager": "kube-controller-manager",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "2026-01-01T00:05:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
            "subresource": "scale",
        },
        {
            "manager": "kubectl-edit",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "2026-01-01T00:06:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {
                        "f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}
                    }
                }
            },
        },
        {
            "manager": "protector",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "2026-01-01T00:07:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:finalizers": {".": {}, 'v:"example.com/protect"': {}}}},
        },
    ]
    return obj


def ignoring(*managers: str) -> Normalizer:
    text = f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web}}
spec:
  project: default
  source: {{repoURL: "https://git.example/config.git", path: web}}
  destination: {{name: prod, namespace: shop}}
  ignoreDifferences:
    - group: apps
      kind: Deployment
      managedFieldsManagers: [{", ".join(managers)}]
"""
    (app,) = parse_applications(text, "apps/web.yaml")
    return Normalizer(target_rules=SERVER_FIELDS, ignores=app.ignore_differences)


def test_without_the_option_every_foreign_change_is_drift() -> None:
    diff = compare(REF, desired(), live(), Normalizer(target_rules=SERVER_FIELDS))
    assert diff.changed
    assert diff.live is not None and diff.live["spec"]["replicas"] == 5


def test_replicas_the_hpa_scaled_are_ignored_and_the_rest_still_shows() -> None:
    diff = compare(REF, desired(), live(), ignoring("kube-controller-manager"))
    assert diff.desired is not None and diff.live is not None
    assert "replicas" not in diff.desired["spec"] and "replicas" not in diff.live["spec"]
    assert diff.changed  # the hand-edited image and the finalizer are still drift


def test_all_foreign_managers_ignored_leaves_no_drift() -> None:
    normalizer = ignoring("kube-controller-manager", "kubectl-edit", "protector")
    diff = compare(REF, desired(), live(), normalizer)
    assert not diff.changed, diff


def test_a_keyed_list_item_loses_only_the_field_the_manager_owns() -> None:
    diff = compare(REF, desired(), live(), ignoring("kubectl-edit"))
    assert diff.live is not None
    web, proxy = diff.live["spec"]["template"]["spec"]["containers"]
    assert web == {"name": "web"} and proxy == {"name": "proxy", "image": "envoy:1"}


def test_a_change_to_a_field_the_manager_does_not_own_is_drift() -> None:
    changed = live()
    changed["spec"]["template"]["spec"]["containers"][1]["image"] = "envoy:2"
    normalizer = ignoring("kube-controller-manager", "kubectl-edit", "protector")
    assert compare(REF, desired(), changed, normalizer).changed


def test_ignoring_our_own_manager_hides_our_fields_too() -> None:
    """Argo CD's semantics: the listed manager's fields leave both sides, whoever it is."""
    diff = compare(REF, desired(), live(), ignoring("conveyor"))
    assert diff.live is not None and diff.desired is not None
    # each container item is owned whole (`.`): it leaves the list on both sides
    assert diff.live["spec"]["template"]["spec"]["containers"] == []
    assert diff.desired["spec"] == diff.live["spec"] == {"template": {"spec": {"containers": []}}}


def test_live_objects_without_managed_fields_lose_nothing() -> None:
    plain = copy.deepcopy(live())
    del plain["metadata"]["managedFields"]
    assert compare(REF, desired(), plain, ignoring("kube-controller-manager")).changed
