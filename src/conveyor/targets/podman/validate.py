"""Apply-time checks per kind (pure): what the Podman target accepts, and why not.

Raises `SpecError`; `PodmanTarget.apply` turns it into `TargetRejected` on that object,
so an unsupported kind or field is always reported, never dropped. Called only by
`conveyor.targets.podman.target`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.targets.podman import fields
from conveyor.targets.podman.spec import SpecError, validate_pod_spec

CLUSTER_SCOPED = {"Namespace"}
STORED_KINDS = {"ConfigMap", "Secret", "Namespace", "Service", "PersistentVolumeClaim"}
#: Kinds whose names Kubernetes checks as DNS-1123 labels (the rest: subdomains).
LABEL_NAMED = {"Namespace", "Service"}
SUPPORTED = STORED_KINDS | {"Deployment", "StatefulSet", "Pod", "Job"}


def validate(
    obj: Mapping[str, Any],
    *,
    host_limits: frozenset[str],
    previous: Mapping[str, Any] | None,
    strict: bool = True,
) -> None:
    """`strict` False (the `Validate=false` sync option): fields this target does not know
    are let through (and ignored); everything it does read is still checked."""
    kind = str(obj.get("kind", ""))
    metadata = obj.get("metadata") or {}
    # Names become Podman container, network and volume names (issue 12, finding 4).
    if kind in LABEL_NAMED:
        fields.label(metadata.get("name"), "metadata.name")
    else:
        fields.subdomain(metadata.get("name"), "metadata.name")
    if metadata.get("namespace") is not None:
        fields.label(metadata["namespace"], "metadata.namespace")
    if kind == "CronJob":
        raise SpecError("kind", "CronJob is not supported by the podman target (no scheduler)")
    if kind not in SUPPORTED:
        raise SpecError(
            "kind", f"{kind or 'an object without kind'} is not supported by the podman target"
        )
    spec = obj.get("spec") or {}
    check = _CHECKS.get(kind)
    if check is not None:
        check(spec, previous.get("spec") if previous else None, strict)
    if kind in ("Deployment", "StatefulSet", "Job"):
        template = spec.get("template") or {}
        if not template.get("spec"):
            raise SpecError("spec.template", "required")
        _selector(spec, template)
        _pod(template["spec"], host_limits, "spec.template.", strict)
    if kind == "Pod":
        _pod(spec, host_limits, "", strict)


def _pod(spec: Mapping[str, Any], host_limits: frozenset[str], prefix: str, strict: bool) -> None:
    try:
        validate_pod_spec(spec, host_limits=host_limits, strict=strict)
    except SpecError as exc:
        raise SpecError(prefix + exc.path, str(exc).split(": ", 1)[-1]) from exc


def _selector(spec: Mapping[str, Any], template: Mapping[str, Any]) -> None:
    selector = spec.get("selector")
    if selector is None:
        return
    if set(selector) - {"matchLabels"}:
        raise SpecError("spec.selector", "only matchLabels is supported")
    labels = (template.get("metadata") or {}).get("labels") or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            raise SpecError("spec.selector", "selector does not match template labels")


def _deployment(spec: Mapping[str, Any], _previous: Any, strict: bool) -> None:
    strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
    if strategy not in ("RollingUpdate", "Recreate"):
        raise SpecError("spec.strategy.type", f"unknown strategy {strategy!r}")
    _known(
        strict,
        spec,
        {
            "replicas",
            "selector",
            "template",
            "strategy",
            "progressDeadlineSeconds",
            "revisionHistoryLimit",
            "minReadySeconds",
            "paused",
        },
        "spec",
    )
    if spec.get("paused"):
        raise SpecError("spec.paused", "pausing rollouts is not supported")
    if spec.get("minReadySeconds"):
        raise SpecError("spec.minReadySeconds", "not supported")


def _statefulset(spec: Mapping[str, Any], _previous: Any, strict: bool) -> None:
    _known(
        strict,
        spec,
        {
            "replicas",
            "selector",
            "template",
            "serviceName",
            "volumeClaimTemplates",
            "podManagementPolicy",
            "updateStrategy",
            "revisionHistoryLimit",
        },
        "spec",
    )
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        where = f"spec.volumeClaimTemplates[{i}].metadata.name"
        fields.label((claim.get("metadata") or {}).get("name"), where)
    update = spec.get("updateStrategy") or {}
    if update.get("type", "RollingUpdate") != "RollingUpdate" or update.get("rollingUpdate"):
        raise SpecError("spec.updateStrategy", "only RollingUpdate without partition")


def _job(spec: Mapping[str, Any], previous: Any, strict: bool) -> None:
    _known(
        strict,
        spec,
        {
            "template",
            "backoffLimit",
            "completions",
            "parallelism",
            "selector",
            "ttlSecondsAfterFinished",
            "activeDeadlineSeconds",
            "manualSelector",
        },
        "spec",
    )
    if int(spec.get("completions", 1)) != 1 or int(spec.get("parallelism", 1)) != 1:
        raise SpecError("spec.completions", "only single-completion Jobs are supported")
    if spec.get("activeDeadlineSeconds") or spec.get("ttlSecondsAfterFinished") is not None:
        raise SpecError("spec", "activeDeadlineSeconds/ttlSecondsAfterFinished not supported")
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy not in ("Never", "OnFailure"):
        raise SpecError("spec.template.spec.restartPolicy", "must be Never or OnFailure")
    if previous is not None and previous.get("template") != spec.get("template"):
        raise SpecError("spec.template", "field is immutable (delete the Job to change it)")


def _service(spec: Mapping[str, Any], _previous: Any, strict: bool) -> None:
    # clusterIP(s) and the traffic policies have no meaning without kube-proxy; a headless
    # Service (clusterIP: None) still names its pods on the namespace network.
    _known(
        strict,
        spec,
        {
            "type",
            "selector",
            "ports",
            "clusterIP",
            "clusterIPs",
            "sessionAffinity",
            "externalTrafficPolicy",
            "internalTrafficPolicy",
            "ipFamilies",
            "ipFamilyPolicy",
            "publishNotReadyAddresses",
        },
        "spec",
    )
    if spec.get("type", "ClusterIP") not in ("ClusterIP", "NodePort", "LoadBalancer"):
        raise SpecError("spec.type", f"{spec.get('type')} Services are not supported")
    if spec.get("sessionAffinity", "None") != "None":
        raise SpecError("spec.sessionAffinity", "only None (round-robin)")
    if spec.get("publishNotReadyAddresses"):
        raise SpecError("spec.publishNotReadyAddresses", "only ready replicas are served")
    for i, port in enumerate(spec.get("ports") or []):
        _known(
            strict,
            port,
            {"name", "port", "targetPort", "nodePort", "protocol", "appProtocol"},
            f"spec.ports[{i}]",
        )
        if port.get("protocol", "TCP") != "TCP":
            raise SpecError(f"spec.ports[{i}].protocol", "only TCP")
        if "name" in port:
            fields.port_name(port["name"], f"spec.ports[{i}].name")


def _known(strict: bool, spec: Mapping[str, Any], allowed: set[str], path: str) -> None:
    for key in spec if strict else ():
        if key not in allowed:
            raise SpecError(f"{path}.{key}", "not supported by the podman target")


_CHECKS = {"Deployment": _deployment, "StatefulSet": _statefulset, "Job": _job, "Service": _service}
