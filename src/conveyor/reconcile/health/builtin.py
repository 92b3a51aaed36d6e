"""The built-in rules: one module per kind in a `(group, kind)` registry, then the generic
`status.conditions` rule for every other kind. Called by `health.checker.Checker` (after
custom scripts) and, through `health.assess`, wherever no configuration is at hand. Pure.
"""

from __future__ import annotations

from collections.abc import Callable

from conveyor.reconcile.health import (
    application,
    certificate,
    clusterissuer,
    conditions,
    configmap,
    daemonset,
    deployment,
    externalsecret,
    ingress,
    issuer,
    job,
    namespace,
    pod,
    pvc,
    replicaset,
    rollout,
    sealedsecret,
    secret,
    service,
    statefulset,
)
from conveyor.reconcile.health.verdict import Verdict
from conveyor.targets.base import Manifest

RULES: dict[tuple[str, str], Callable[[Manifest], Verdict]] = {
    (module.GROUP, module.KIND): module.assess
    for module in (
        application,
        certificate,
        clusterissuer,
        configmap,
        daemonset,
        deployment,
        externalsecret,
        ingress,
        issuer,
        job,
        namespace,
        pod,
        pvc,
        replicaset,
        rollout,
        sealedsecret,
        secret,
        service,
        statefulset,
    )
}


def assess(obj: Manifest, group: str, kind: str) -> Verdict:
    """The built-in health of an existing object of `group`/`kind`."""
    rule = RULES.get((group, kind))
    return rule(obj) if rule else conditions.assess(obj)
