"""Names and labels the Podman target puts on what it creates (pure).

Every container, network and volume the target creates carries `TARGET_LABEL` (which target
instance owns it) and `MANAGED_LABEL`; anything without them is never listed, changed or
removed. Container names are predictable: `<scope><namespace>_<pod name>` where the pod
name follows Kubernetes (`<deployment>-<template hash>-<slot>`, `<statefulset>-<ordinal>`,
`<job>-<attempt>`, or the Pod's own name), and networks and volumes are
`conveyor-<scope><namespace>` and `conveyor-<scope><namespace>_<claim>`. The scope keeps
two targets on one host apart (the same namespace in both no longer shares containers,
Service aliases or volume data): `<target>_`, except for the default target `local`,
whose names stay as they were before scoping so existing installations keep their
networks and volumes. `_` cannot occur in Kubernetes names or a scope's target part, so
the parts never run together. Called by every other module of this package.
"""

from __future__ import annotations

import hashlib
import json
import re
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


#: The target whose names carry no scope (what every installation had before scoping).
DEFAULT_TARGET = "local"


def scope(target: str) -> str:
    """The prefix of a target's Podman names: "" for `local`, else `<target>_`.

    Characters Podman does not allow in names become `-`, and then a short digest of the
    original is appended, so `a_b`, `a b` and `a-b` keep three different scopes.
    """
    if target == DEFAULT_TARGET:
        return ""
    clean = re.sub(r"[^a-zA-Z0-9.-]", "-", target)
    if clean != target or not clean[:1].isalnum():
        clean = f"t{clean}-{spec_hash(target)[:6]}"
    return f"{clean}_"


def container_name(target: str, namespace: str, pod: str) -> str:
    return f"{scope(target)}{namespace}_{pod}"


def network_name(target: str, namespace: str) -> str:
    """The Podman network of a namespace: pods of one namespace resolve each other by alias."""
    return f"conveyor-{scope(target)}{namespace}"


def volume_name(target: str, namespace: str, claim: str) -> str:
    return f"conveyor-{scope(target)}{namespace}_{claim}"


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
