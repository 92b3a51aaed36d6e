"""A Helm chart in Git with Helm hooks and a values file from a second source (`$values/…`),
synced end to end by the reconciler on the memory target: Helm's hooks run in the Argo CD
phases they map to, a test hook never runs, and the app ends Synced/Healthy."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from conveyor.core.errors import UserError
from conveyor.reconcile import ordering
from conveyor.reconcile.model import Phase
from conveyor.targets.base import ObjectRef

from .conftest import World, config_repo, configmap
from .helmcharts import write_chart

HOOK_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{{{ .Release.Name }}}}-{name}
  annotations:
    helm.sh/hook: {event}
    helm.sh/hook-weight: "{weight}"
    helm.sh/hook-delete-policy: {policy}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: "tool:1"}}]
"""

TEST_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-smoke-test
  annotations: {helm.sh/hook: test-success}
spec: {containers: [{name: t, image: "probe:1"}]}
"""


def _hook(name: str, event: str, weight: int, policy: str = "before-hook-creation") -> str:
    return HOOK_JOB.format(name=name, event=event, weight=weight, policy=policy)


def _app(sources: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "shop"},
            "spec": {
                "sources": sources,
                "destination": {"name": "memory", "namespace": "prod"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
        }
    )


def test_a_chart_with_hooks_and_values_from_a_second_source_syncs(
    world: World, tmp_path: Path
) -> None:
    chart = write_chart(world.repo.work / "charts" / "shop")
    (chart / "templates" / "migrate.yaml").write_text(
        _hook("migrate", "pre-install,pre-upgrade", -5)
    )
    (chart / "templates" / "seed.yaml").write_text(
        _hook("seed", "pre-install", 3, "hook-succeeded")
    )
    (chart / "templates" / "notify.yaml").write_text(_hook("notify", "post-install", 0))
    (chart / "templates" / "cleanup.yaml").write_text(_hook("cleanup", "post-delete", 0))
    (chart / "templates" / "smoke.yaml").write_text(TEST_POD)
    world.repo.commit()
    values = config_repo(tmp_path, "values", "values-work")
    values.write("shop/prod.yaml", "replicas: 3\ngreeting: from-the-values-repo\n")
    values_commit = values.commit()
    doc = _app(
        [
            {
                "repoURL": world.repo.url,
                "path": "charts/shop",
                "targetRevision": "main",
                "helm": {"valueFiles": ["$values/shop/prod.yaml"]},
            },
            {"repoURL": values.url, "targetRevision": "main", "ref": "values"},
        ]
    )
    status: dict[str, Any] = asyncio.run(world.reconciler(doc).reconcile_all())["shop"]
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"
    assert status["revisions"][1] == values_commit
    applied = [line for line in world.target.journal if line.startswith("apply")]
    assert applied == [
        "apply Job.batch prod/shop-migrate",  # PreSync, wave -5 (hook weight)
        "apply Job.batch prod/shop-seed",  # PreSync, wave 3
        "apply ConfigMap prod/shop-settings",
        "apply Deployment.apps prod/shop-web",
        "apply Job.batch prod/shop-notify",  # PostSync
    ]
    journal = world.target.journal
    seed = journal.index("apply Job.batch prod/shop-seed")
    assert journal.index("delete Job.batch prod/shop-seed") > seed  # hook-succeeded
    migrate = journal.index("apply Job.batch prod/shop-migrate")
    assert journal.index("delete Job.batch prod/shop-migrate") < migrate  # before-hook-creation
    deployment = world.target.peek(_ref("Deployment", "shop-web"))
    assert deployment is not None and deployment["spec"]["replicas"] == 3
    settings = world.target.peek(_ref("ConfigMap", "shop-settings"))
    assert settings is not None and settings["data"] == {"greeting": "from-the-values-repo"}


def _ref(kind: str, name: str) -> ObjectRef:
    group = "apps" if kind == "Deployment" else ""
    return ObjectRef(group=group, kind=kind, namespace="prod", name=name)


def test_a_values_change_in_the_second_source_resyncs(world: World, tmp_path: Path) -> None:
    write_chart(world.repo.work / "charts" / "shop")
    world.repo.commit()
    values = config_repo(tmp_path, "values", "values-work")
    values.write("shop/prod.yaml", "replicas: 2\n")
    values.commit()
    doc = _app(
        [
            {
                "repoURL": world.repo.url,
                "path": "charts/shop",
                "targetRevision": "main",
                "helm": {"valueFiles": ["$values/shop/prod.yaml"]},
            },
            {"repoURL": values.url, "targetRevision": "main", "ref": "values"},
        ]
    )
    rec = world.reconciler(doc)
    asyncio.run(rec.reconcile_all())
    values.write("shop/prod.yaml", "replicas: 4\n")
    values.commit()
    status = asyncio.run(rec.reconcile_all())["shop"]
    assert status["sync"]["status"] == "Synced", status
    deployment = world.target.peek(_ref("Deployment", "shop-web"))
    assert deployment is not None and deployment["spec"]["replicas"] == 4


def _obj(**notes: str) -> dict[str, Any]:
    return configmap("x", **notes)


@pytest.mark.parametrize(
    ("notes", "phases", "wave", "policies"),
    [
        ({"helm.sh/hook": "pre-install"}, (Phase.PRE_SYNC,), 0, ("BeforeHookCreation",)),
        ({"helm.sh/hook": "pre-upgrade"}, (Phase.PRE_SYNC,), 0, ("BeforeHookCreation",)),
        ({"helm.sh/hook": "post-install, post-upgrade"}, (Phase.POST_SYNC,), 0, None),
        ({"helm.sh/hook": "pre-install,post-install"}, (Phase.PRE_SYNC, Phase.POST_SYNC), 0, None),
        ({"helm.sh/hook": "test"}, None, 0, None),
        ({"helm.sh/hook": "test-success"}, None, 0, None),
        ({"helm.sh/hook": "pre-rollback"}, None, 0, None),
        ({"helm.sh/hook": "post-rollback"}, None, 0, None),
        ({"helm.sh/hook": "pre-delete"}, (Phase.PRE_DELETE,), 0, None),  # only when deleted
        ({"helm.sh/hook": "post-delete"}, (Phase.POST_DELETE,), 0, None),
        ({"helm.sh/hook": "crd-install"}, (), 0, None),  # a plain resource
        (
            {"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-3"},
            (Phase.PRE_SYNC,),
            -3,
            None,
        ),
        ({"helm.sh/hook-weight": "7"}, (), 7, None),  # Argo CD: the weight is the wave
        (
            {"helm.sh/hook": "post-install", "helm.sh/hook-delete-policy": "hook-succeeded"},
            (Phase.POST_SYNC,),
            0,
            ("HookSucceeded",),
        ),
        (
            {
                "helm.sh/hook": "pre-install",
                "helm.sh/hook-delete-policy": "hook-failed,before-hook-creation",
            },
            (Phase.PRE_SYNC,),
            0,
            ("HookFailed", "BeforeHookCreation"),
        ),
        (  # an Argo CD hook wins over Helm's hook and weight; delete policies add up
            {
                "argocd.argoproj.io/hook": "Sync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
                "helm.sh/hook": "post-install",
                "helm.sh/hook-weight": "5",
                "helm.sh/hook-delete-policy": "hook-failed",
            },
            (Phase.SYNC,),
            0,
            ("HookSucceeded", "HookFailed"),
        ),
        (
            {"argocd.argoproj.io/sync-wave": "2", "helm.sh/hook-weight": "5"},
            (),
            2,
            None,
        ),
    ],
)
def test_helm_hook_annotations_map_as_argo_cd_maps_them(
    notes: dict[str, str],
    phases: tuple[Phase, ...] | None,
    wave: int,
    policies: tuple[str, ...] | None,
) -> None:
    obj = _obj(**notes)
    assert ordering.phases_of(obj) == phases
    assert ordering.wave_of(obj) == wave
    if policies is not None:
        assert ordering.delete_policies(obj) == policies


@pytest.mark.parametrize(
    ("notes", "message"),
    [
        ({"helm.sh/hook": "pre-instal"}, "unknown Helm hook 'pre-instal'"),
        ({"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "high"}, "is not an integer"),
        (
            {"helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": "always"},
            "unknown helm.sh/hook-delete-policy 'always'",
        ),
    ],
)
def test_bad_helm_hook_annotations_are_errors_naming_the_object(
    notes: dict[str, str], message: str
) -> None:
    with pytest.raises(UserError) as caught:
        ordering.order([_obj(**notes)])
    assert "ConfigMap x" in str(caught.value) and message in str(caught.value)


def test_helms_own_starter_chart_syncs_without_its_test_pod(world: World) -> None:
    """`helm create`'s scaffold (helpers, service account, HPA and ingress switches, a test
    hook) is the layout most real charts start from."""
    (world.repo.work / "charts").mkdir(parents=True)
    helm_python.Chart.create("starter", world.repo.work / "charts").close()
    world.repo.commit()
    values = {"autoscaling": {"enabled": True}, "ingress": {"enabled": True}}
    doc = _app(
        [
            {
                "repoURL": world.repo.url,
                "path": "charts/starter",
                "targetRevision": "main",
                "helm": {"valuesObject": values},
            }
        ]
    )
    status: dict[str, Any] = asyncio.run(world.reconciler(doc).reconcile_all())["shop"]
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert status["sync"]["status"] == "Synced"
    kinds = sorted(f"{r.kind}/{r.name}" for r in world.target.refs())
    assert kinds == [
        "Deployment/shop-starter",
        "HorizontalPodAutoscaler/shop-starter",
        "Ingress/shop-starter",
        "Service/shop-starter",
        "ServiceAccount/shop-starter",
    ]
    deployment = world.target.peek(_ref("Deployment", "shop-starter"))
    assert deployment is not None
    assert deployment["metadata"]["labels"]["app.kubernetes.io/instance"] == "shop"
