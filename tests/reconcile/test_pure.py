"""Table tests for the pure parts: paths, diff normalisation and redaction, ordering,
prune decisions, auto-sync decisions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conveyor.core.errors import UserError
from conveyor.reconcile import drift, inventory, ordering
from conveyor.reconcile.appmodel import Retry, SyncPolicy
from conveyor.reconcile.diff import IgnoreRule, Normalizer, compare, render_diff
from conveyor.reconcile.model import Phase
from conveyor.reconcile.paths import remove_jq, remove_pointer
from conveyor.targets.base import NormalizationRule, ObjectRef
from conveyor.targets.memory import NORMALIZATION

DOC: dict[str, Any] = {
    "metadata": {"name": "web", "annotations": {"a/b": "1", "keep": "2"}},
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "containers": [
                    {"name": "main", "image": "web:1", "args": ["x"]},
                    {"name": "sidecar", "image": "proxy:1"},
                ]
            }
        },
    },
}


@pytest.mark.parametrize(
    ("pointer", "gone", "kept"),
    [
        ("/spec/replicas", ("spec", "replicas"), ("spec", "template")),
        (
            "/metadata/annotations/a~1b",
            ("metadata", "annotations", "a/b"),
            ("metadata", "annotations", "keep"),
        ),
        ("/nothing/here", None, ("spec", "replicas")),
    ],
)
def test_json_pointer_removal(
    pointer: str, gone: tuple[str, ...] | None, kept: tuple[str, ...]
) -> None:
    doc = copy.deepcopy(DOC)
    remove_pointer(doc, pointer)
    if gone:
        parent = doc
        for key in gone[:-1]:
            parent = parent[key]
        assert gone[-1] not in parent
    node = doc
    for key in kept:
        node = node[key]


def test_json_pointer_star_and_default_value() -> None:
    doc = copy.deepcopy(DOC)
    remove_pointer(doc, "/spec/template/spec/containers/*/image", equal_to="proxy:1")
    containers = doc["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "main", "image": "web:1", "args": ["x"]}, {"name": "sidecar"}]


@pytest.mark.parametrize(
    ("expression", "check"),
    [
        (".spec.replicas", lambda d: "replicas" not in d["spec"]),
        ('.metadata.annotations["a/b"]', lambda d: d["metadata"]["annotations"] == {"keep": "2"}),
        (
            '.spec.template.spec.containers[] | select(.name == "sidecar") | .image',
            lambda d: d["spec"]["template"]["spec"]["containers"][1] == {"name": "sidecar"},
        ),
        (
            '.spec.template.spec.containers[] | select(.name != "sidecar")',
            lambda d: (
                [c["name"] for c in d["spec"]["template"]["spec"]["containers"]] == ["sidecar"]
            ),
        ),
        (
            ".spec.template.spec.containers[0].args",
            lambda d: "args" not in d["spec"]["template"]["spec"]["containers"][0],
        ),
    ],
)
def test_jq_path_removal(expression: str, check: Any) -> None:
    doc = copy.deepcopy(DOC)
    remove_jq(doc, expression)
    assert check(doc)


@pytest.mark.parametrize("bad", ["spec.replicas", ".spec | select(.x = 1)", ".a[?]"])
def test_unsupported_paths_are_user_errors(bad: str) -> None:
    with pytest.raises(UserError):
        if bad.startswith("."):
            remove_jq({}, bad)
        else:
            remove_pointer({}, bad)


def deployment(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "w"}]}}, **spec},
    }


REF = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
TARGET = Normalizer(target_rules=NORMALIZATION)


@pytest.mark.parametrize(
    ("desired", "live", "changed"),
    [
        # a defaulted field the manifest omits is not a difference
        (deployment(), deployment(replicas=1, revisionHistoryLimit=10), False),
        # ...but a live value other than the default is
        (deployment(), deployment(replicas=3), True),
        (deployment(replicas=1), deployment(), False),
        # server-populated metadata and status never count
        (
            deployment(),
            {
                **deployment(),
                "status": {"replicas": 9},
                "metadata": {
                    "name": "web",
                    "namespace": "prod",
                    "uid": "u",
                    "resourceVersion": "7",
                    "generation": 4,
                },
            },
            False,
        ),
        (
            deployment(),
            {
                **deployment(),
                "metadata": {
                    "name": "web",
                    "namespace": "prod",
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                },
            },
            False,
        ),
        (deployment(), None, True),
    ],
)
def test_normalised_diff(
    desired: dict[str, Any], live: dict[str, Any] | None, changed: bool
) -> None:
    assert compare(REF, desired, live, TARGET).changed is changed


def test_ignore_differences_scope_by_kind_and_name() -> None:
    ignore = IgnoreRule(
        kind="Deployment", group="apps", name="other", json_pointers=("/spec/replicas",)
    )
    rules = Normalizer(target_rules=NORMALIZATION, ignores=(ignore,))
    assert compare(REF, deployment(replicas=2), deployment(replicas=5), rules).changed
    everywhere = Normalizer(
        ignores=(IgnoreRule(kind="*", group="*", jq_paths=(".spec.replicas",)),)
    )
    assert not compare(REF, deployment(replicas=2), deployment(replicas=5), everywhere).changed


def test_secret_string_data_matches_base64_data_and_values_never_print() -> None:
    ref = ObjectRef(group="", kind="Secret", namespace="prod", name="s")
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"user": "admin", "password": "hunter2"},
    }
    same = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"user": "YWRtaW4=", "password": "aHVudGVyMg=="},
    }
    assert not compare(ref, desired, same, Normalizer()).changed
    other = copy.deepcopy(same)
    other["data"]["password"] = "c2VjcmV0"
    diff = compare(ref, desired, other, Normalizer())
    text = "\n".join(render_diff(diff))
    assert diff.changed
    assert "hunter2" not in text and "aHVudGVyMg==" not in text and "c2VjcmV0" not in text
    assert "-  password: ++++++++ (live value)" in text
    assert "   user: ++++++++" in text


def test_normalization_rule_matching() -> None:
    rule = NormalizationRule(kind="Service", group="", pointers=("/spec/clusterIP",))
    assert rule.matches(ObjectRef(group="", kind="Service", namespace="", name="s"))
    assert not rule.matches(ObjectRef(group="x.io", kind="Service", namespace="", name="s"))


def obj(kind: str, name: str, **notes: str) -> dict[str, Any]:
    api = {"Deployment": "apps/v1", "Job": "batch/v1"}.get(kind, "v1")
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "annotations": notes}}


def test_order_phase_wave_kind_name() -> None:
    waves = ordering.order(
        [
            obj("Deployment", "b"),
            obj("Service", "a"),
            obj("ConfigMap", "z"),
            obj("Namespace", "ns", **{"argocd.argoproj.io/sync-wave": "-5"}),
            obj("Job", "post", **{"argocd.argoproj.io/hook": "PostSync"}),
            obj("Job", "pre", **{"helm.sh/hook": "pre-upgrade"}),
            obj("Job", "both", **{"conveyor.dev/hook": "PreSync,PostSync"}),
            obj("Widget", "custom"),
            obj(
                "ConfigMap",
                "wave2",
                **{"conveyor.dev/sync-wave": "2", "argocd.argoproj.io/sync-wave": "-9"},
            ),
        ]
    )
    flat = [(w.phase, w.wave, s.ref.name) for w in waves for s in w.steps]
    assert flat == [
        (Phase.PRE_SYNC, 0, "both"),
        (Phase.PRE_SYNC, 0, "pre"),
        (Phase.SYNC, -5, "ns"),
        (Phase.SYNC, 0, "z"),
        (Phase.SYNC, 0, "a"),
        (Phase.SYNC, 0, "b"),
        (Phase.SYNC, 0, "custom"),
        (Phase.SYNC, 2, "wave2"),
        (Phase.POST_SYNC, 0, "both"),
        (Phase.POST_SYNC, 0, "post"),
    ]


@pytest.mark.parametrize(
    "notes", [{"argocd.argoproj.io/sync-wave": "one"}, {"argocd.argoproj.io/hook": "PreDeploy"}]
)
def test_bad_wave_or_hook_is_a_user_error(notes: dict[str, str]) -> None:
    with pytest.raises(UserError):
        ordering.order([obj("ConfigMap", "c", **notes)])


def test_hook_delete_policy_defaults_to_before_hook_creation() -> None:
    (wave,) = ordering.order([obj("Job", "j", **{"argocd.argoproj.io/hook": "PreSync"})])
    assert wave.steps[0].delete_policies == ("BeforeHookCreation",)


def ref(name: str) -> ObjectRef:
    return ObjectRef(group="", kind="ConfigMap", namespace="prod", name=name)


LIVE = {
    ref("a"): {"metadata": {}},
    ref("b"): {"metadata": {}},
    ref("keep"): {
        "metadata": {
            "annotations": {"argocd.argoproj.io/sync-options": "ServerSideApply=true,Prune=false"}
        }
    },
    ref("keep2"): {"metadata": {"annotations": {"conveyor.dev/prune": "false"}}},
    ref("gone"): None,
}


@pytest.mark.parametrize(
    ("desired", "prune", "allow_empty", "delete", "skipped", "refused"),
    [
        (["a"], True, False, ["b"], ["keep", "keep2"], False),
        (["a", "b"], False, False, [], ["keep", "keep2"], False),
        (["a"], False, False, [], ["b", "keep", "keep2"], False),
        ([], True, False, [], ["a", "b", "keep", "keep2"], True),
        ([], True, True, ["a", "b"], ["keep", "keep2"], False),
        (["other"], True, False, ["a", "b"], ["keep", "keep2"], False),
    ],
)
def test_prune_decision(
    *,
    desired: list[str],
    prune: bool,
    allow_empty: bool,
    delete: list[str],
    skipped: list[str],
    refused: bool,
) -> None:
    decision = inventory.decide(
        inventory=list(LIVE),
        desired=[ref(n) for n in desired],
        live=LIVE,
        prune=prune,
        allow_empty=allow_empty,
    )
    assert [r.name for r in decision.delete] == delete
    assert [r.name for r, _ in decision.skipped] == skipped
    assert (decision.refused is not None) is refused


AUTO = SyncPolicy(automated=True, prune=True, self_heal=True, retry=Retry(limit=2))


@pytest.mark.parametrize(
    ("policy", "paused", "out_of_sync", "attempts", "now", "action"),
    [
        (AUTO, False, False, drift.Attempts(), 0, drift.Action.NONE),
        (SyncPolicy(), False, True, drift.Attempts(), 0, drift.Action.NONE),
        (AUTO, True, True, drift.Attempts(), 0, drift.Action.NONE),
        (AUTO, False, True, drift.Attempts(digest="old"), 0, drift.Action.SYNC),
        (AUTO, False, True, drift.Attempts(digest="d"), 0, drift.Action.SELF_HEAL),
        (SyncPolicy(automated=True), False, True, drift.Attempts(digest="d"), 0, drift.Action.NONE),
        (AUTO, False, True, drift.Attempts(digest="d", not_before=10), 5, drift.Action.NONE),
        (
            AUTO,
            False,
            True,
            drift.Attempts(digest="d", failed=True, retries=1),
            0,
            drift.Action.RETRY,
        ),
        (
            AUTO,
            False,
            True,
            drift.Attempts(digest="d", failed=True, retries=2),
            0,
            drift.Action.NONE,
        ),
    ],
)
def test_auto_sync_decision(
    *,
    policy: SyncPolicy,
    paused: bool,
    out_of_sync: bool,
    attempts: drift.Attempts,
    now: float,
    action: drift.Action,
) -> None:
    decision = drift.decide(
        policy=policy,
        paused=paused,
        out_of_sync=out_of_sync,
        digest="d",
        attempts=attempts,
        now=now,
    )
    assert decision.action == action


def test_backoffs() -> None:
    assert [drift.self_heal_delay(n) for n in range(6)] == [0, 2, 6, 18, 54, 162]
    assert drift.self_heal_delay(10) == 300
    retry = Retry(limit=5, duration=5, factor=2, max_duration=30)
    assert [drift.retry_delay(retry, n) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
    after = drift.after_attempt(
        drift.Attempts(), drift.Action.SELF_HEAL, digest="d", ok=True, retry=retry, now=100
    )
    assert (after.heals, after.not_before) == (1, 102)
    assert drift.settled(after) == drift.Attempts(digest="d")


@pytest.mark.parametrize(
    ("attempts", "now", "outlook"),
    [
        (drift.Attempts(digest="old"), 0, drift.Outlook.SETTLED),  # a new revision syncs
        (drift.Attempts(digest="d"), 0, drift.Outlook.SETTLED),  # self-heal
        (drift.Attempts(digest="d", not_before=10), 5, drift.Outlook.WAITING),  # backing off
        (drift.Attempts(digest="d", failed=True, retries=1), 0, drift.Outlook.WAITING),
        (drift.Attempts(digest="d", failed=True, retries=2), 0, drift.Outlook.EXHAUSTED),
    ],
)
def test_a_decision_says_what_it_means_for_status_apart_from_its_words(
    attempts: drift.Attempts, now: float, outlook: drift.Outlook
) -> None:
    # status reads the outlook, not the reason's wording (it once searched it for "retry")
    decision = drift.decide(
        policy=AUTO, paused=False, out_of_sync=True, digest="d", attempts=attempts, now=now
    )
    assert decision.outlook == outlook
