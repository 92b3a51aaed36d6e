"""The pure rules behind shared objects and app deletion (issue 14), table by table."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.reconcile.deletion_steps import deletion_order, kept_because
from conveyor.reconcile.sharing import Claims
from conveyor.targets.base import ObjectRef

from .conftest import configmap, deployment, service

CM = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="shared")
KEY = ("memory", CM)


def claims(*, defined: tuple[str, ...], renders: dict[str, bool]) -> Claims:
    """`renders`: app → whether it renders CM (apps left out were never observed)."""
    made = Claims()
    made.set_apps(defined)
    for app, wants in renders.items():
        made.render(app, [KEY] if wants else [], version=None)
    return made


@pytest.mark.parametrize(
    ("asker", "label", "defined", "renders", "owner"),
    [
        ("b", "a", ("a", "b"), {"b": True}, "a"),  # a defined, not seen yet: b keeps off
        ("b", "a", ("a", "b"), {"a": True, "b": True}, "a"),  # the labelled app keeps it
        ("a", "a", ("a", "b"), {"a": True, "b": True}, "a"),  # its own label
        ("b", "a", ("b",), {"b": True}, "b"),  # a is no longer defined: b adopts it
        ("b", "a", ("a", "b"), {"a": False, "b": True}, "b"),  # a stopped rendering it
        ("b", "", ("a", "b"), {"a": True, "b": True}, "b"),  # unlabelled: first to ask
    ],
)
def test_who_owns_an_object(
    asker: str, label: str, defined: tuple[str, ...], renders: dict[str, bool], owner: str
) -> None:
    assert claims(defined=defined, renders=renders).owner(asker, KEY, label) == owner


def test_the_first_app_to_take_a_free_object_keeps_it() -> None:
    made = claims(defined=("a", "b"), renders={"a": True, "b": True})
    assert made.owner("a", KEY, "") == "a"
    assert made.owner("b", KEY, "") == "a"


def test_an_owner_about_to_prune_an_object_still_holds_it() -> None:
    made = claims(defined=("a", "b"), renders={"a": False, "b": True})
    made.pruning("a", [KEY])
    assert made.owner("b", KEY, "a") == "a"


@pytest.mark.parametrize(
    ("obj", "kept"),
    [
        (configmap("x"), False),
        (configmap("x", **{"argocd.argoproj.io/sync-options": "Prune=false,Delete=false"}), True),
        (configmap("x", **{"argocd.argoproj.io/sync-options": "Prune=false"}), False),
        (configmap("x", **{"helm.sh/resource-policy": "keep"}), True),
        ({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}, True),
    ],
)
def test_what_an_app_deletion_keeps(obj: dict[str, Any], kept: bool) -> None:
    assert bool(kept_because(obj)) is kept


def test_deletion_order_is_last_wave_first_then_reverse_kind_order() -> None:
    objs = [
        configmap("cfg"),
        deployment("web"),
        service("web"),
        configmap("early", **{"argocd.argoproj.io/sync-wave": "-2"}),
        deployment("late", **{"argocd.argoproj.io/sync-wave": "3"}),
    ]
    groups = deletion_order({ObjectRef.of(o, default_namespace="prod"): o for o in objs})
    assert [[f"{r.kind}/{r.name}" for r in g] for g in groups] == [
        ["Deployment/late"],
        ["Deployment/web", "Service/web", "ConfigMap/cfg"],
        ["ConfigMap/early"],
    ]
