"""RBAC of least privilege: the verbs of every rule are exactly the documented ones (README,
"What RBAC it gets"), no wildcard anywhere, no cluster-admin, a Role per target namespace,
and a ClusterRole only for the cluster-scoped kinds the user opted into."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.rendering import MANIFESTS, default_values, kustomize, rbac_rules, render_chart

MANAGE = ["get", "list", "watch", "create", "patch", "delete"]
#: (apiGroup, resource) → the verbs the README documents for it.
DOCUMENTED: dict[tuple[str, str], list[str]] = {
    ("coordination.k8s.io", "leases"): ["get", "list", "create", "patch", "delete"],
    ("", "pods"): ["list", "create", "delete"],
    ("", "secrets"): ["create", "patch", "delete"],
}
POOL_ROLE = "Role/conveyor-jobs/conveyor-runner-pool"
EVERYTHING = {
    **default_values(clusterScoped={"namespaces": True, "customResourceDefinitions": True}),
    "runners": {"podPool": {"enabled": True}},
}


def documented_verbs(where: str, group: str, resource: str) -> list[str]:
    """The runner pool's Role has its own verbs; every reconciler rule on a managed kind has
    MANAGE, except leases."""
    if where == POOL_ROLE or resource == "leases":
        return DOCUMENTED[(group, resource)]
    return MANAGE


def rendered(which: str) -> list[dict[str, Any]]:
    if which == "plain-manifests":
        return kustomize(MANIFESTS)
    return render_chart(EVERYTHING if which == "chart-everything" else default_values())


@pytest.mark.parametrize("which", ["chart-defaults", "chart-everything", "plain-manifests"])
def test_every_rule_grants_exactly_the_documented_verbs(which: str) -> None:
    assert_documented_verbs(rendered(which))


def assert_documented_verbs(items: list[dict[str, Any]]) -> None:
    rules = list(rbac_rules(items))
    assert rules
    for where, rule in rules:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], where
        assert set(rule) == {"apiGroups", "resources", "verbs"}, where
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert rule["verbs"] == documented_verbs(where, group, resource), (where, resource)


def test_a_wildcard_verb_fails_the_check() -> None:
    """The check above can fail: a `*` slipped into a rule is caught."""
    items = render_chart(default_values())
    role = next(o for o in items if o["kind"] == "Role")
    role["rules"][0]["verbs"] = ["*"]
    with pytest.raises(AssertionError):
        assert_documented_verbs(items)


def test_nothing_binds_cluster_admin_or_another_builtin_role() -> None:
    for items in (render_chart(EVERYTHING), kustomize(MANIFESTS)):
        own = {o["metadata"]["name"] for o in items if o["kind"] in ("Role", "ClusterRole")}
        for obj in items:
            if obj["kind"] in ("RoleBinding", "ClusterRoleBinding"):
                assert obj["roleRef"]["name"] != "cluster-admin"
                assert obj["roleRef"]["name"] in own, obj["metadata"]["name"]


def test_the_reconciler_gets_one_role_per_target_namespace() -> None:
    items = render_chart(default_values(targetNamespaces=["shop", "payments"]))
    roles = {
        o["metadata"]["namespace"]
        for o in items
        if o["kind"] == "Role" and o["metadata"]["name"] == "conveyor-reconciler"
    }
    bindings = {
        (o["metadata"]["namespace"], s["namespace"], s["name"])
        for o in items
        if o["kind"] == "RoleBinding" and o["metadata"]["name"] == "conveyor-reconciler"
        for s in o["subjects"]
    }
    assert roles == {"shop", "payments"}
    assert bindings == {
        ("shop", "conveyor", "conveyor-reconciler"),
        ("payments", "conveyor", "conveyor-reconciler"),
    }


def test_no_cluster_role_unless_the_user_opts_into_cluster_scoped_kinds() -> None:
    assert [o for o in render_chart(default_values()) if o["kind"].startswith("Cluster")] == []
    only_namespaces = render_chart(default_values(clusterScoped={"namespaces": True}))
    cluster = [o for o in only_namespaces if o["kind"] == "ClusterRole"]
    assert [r["resources"] for r in cluster[0]["rules"]] == [["namespaces"]]


def test_leases_are_granted_in_conveyors_own_namespace_only() -> None:
    rules = rbac_rules(render_chart(EVERYTHING))
    lease_rules = [where for where, rule in rules if "leases" in rule["resources"]]
    assert lease_rules == ["Role/conveyor/conveyor-reconciler-leases"]


def mounting_tokens(items: list[dict[str, Any]]) -> set[str]:
    return {
        o["metadata"]["name"]
        for o in items
        if o["kind"] in ("Deployment", "ServiceAccount")
        and (o["spec"]["template"]["spec"] if o["kind"] == "Deployment" else o).get(
            "automountServiceAccountToken", True
        )
    }


def test_only_the_reconciler_mounts_a_service_account_token() -> None:
    """The server calls no API (without the runner pool) and the runner agents run workflow
    code: no token for them."""
    assert mounting_tokens(render_chart(default_values())) == {"conveyor-reconciler"}


def test_the_runner_pool_gives_the_server_its_token_and_the_agents_still_none() -> None:
    assert mounting_tokens(render_chart(EVERYTHING)) == {"conveyor-reconciler", "conveyor-server"}


def test_replace_adds_update_and_nothing_else() -> None:
    items = render_chart(default_values(allowReplace=True))
    reconciler = [r for w, r in rbac_rules(items) if w.endswith("/conveyor-reconciler")]
    assert reconciler
    assert all(r["verbs"] == [*MANAGE[:4], "update", *MANAGE[4:]] for r in reconciler)
