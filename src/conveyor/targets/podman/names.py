"""Names and labels the Podman target puts on what it creates (pure).

Every container, network and volume the target creates carries `TARGET_LABEL` (which target
instance owns it) and `MANAGED_LABEL`; anything without them is never listed, changed or
removed. Container names are predictable: `<namespace>_<pod name>` where the pod name
follows Kubernetes (`<deployment>-<template hash>-<slot>`, `<statefulset>-<ordinal>`,
`<job>-<attempt>`, or the Pod's own name). `_` cannot occur in Kubernetes names, so the
split is unambiguous. Called by every other module of this package.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MANAGED_LABEL = "conveyor.dev/managed-by"
MANAGED_VALUE = "conveyor-podman-target"
TARGET_LABEL = "conveyor.dev/target"
NAMESPACE_LABEL = "conveyor.dev/namespace"
KIND_LABEL = "conveyor.dev/kind"
NAME_LABEL = "conveyor.dev/name"
POD_LABEL = "conveyor.dev/pod"
HASH_LABEL = "conveyor.dev/spec-hash"
SLOT_LABEL = "conveyor.dev/slot"
APP_LABEL = "app"


def spec_hash(value: Any) -> str:
    """A short stable digest of a JSON-able value (the pod template of a workload)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def container_name(namespace: str, pod: str) -> str:
    return f"{namespace}_{pod}"


def network_name(namespace: str) -> str:
    """The Podman network of a namespace: pods of one namespace resolve each other by alias."""
    return f"conveyor-{namespace}"


def volume_name(namespace: str, claim: str) -> str:
    return f"conveyor-{namespace}_{claim}"


def base_labels(target: str) -> dict[str, str]:
    return {MANAGED_LABEL: MANAGED_VALUE, TARGET_LABEL: target}


def target_filter(target: str) -> list[str]:
    """`--filter` arguments selecting only this target's resources."""
    return [
        "--filter",
        f"label={MANAGED_LABEL}={MANAGED_VALUE}",
        "--filter",
        f"label={TARGET_LABEL}={target}",
    ]


#: JSON of the container's ports and probes, so a restarted target can probe and route.
CONTAINER_LABEL = "conveyor.dev/container"
RESTART_LABEL = "conveyor.dev/restart-policy"
#: On init containers, which run to completion before a replica and are not replicas.
INIT_LABEL = "conveyor.dev/init"
#: On a pod's further containers: the replica (first container) whose network they share.
SIDECAR_LABEL = "conveyor.dev/sidecar-of"
#: On a replica: how many further containers its pod has.
SIDECARS_LABEL = "conveyor.dev/sidecars"
