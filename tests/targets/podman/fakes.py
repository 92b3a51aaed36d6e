"""Replicas as a container listing shows them, for tests that drive the controller's parts
without Podman (`test_listing_race`, `test_healing`)."""

from __future__ import annotations

import json

from conveyor.targets.podman import names
from conveyor.targets.podman.runtime import Replica


def replica(name: str, pod: str, spec_hash: str, slot: int, state: str = "running") -> Replica:
    labels = {
        names.NAMESPACE_LABEL: "demo",
        names.KIND_LABEL: "Deployment",
        names.NAME_LABEL: "web",
        names.POD_LABEL: pod,
        names.HASH_LABEL: spec_hash,
        names.SLOT_LABEL: str(slot),
        names.CONTAINER_LABEL: json.dumps({"name": "web"}),  # no probes: ready when running
        "app": "web",
    }
    return Replica(
        id=f"id-{name}",
        name=name,
        namespace="demo",
        kind="Deployment",
        owner="web",
        pod=pod,
        spec_hash=spec_hash,
        slot=slot,
        state=state,
        exit_code=0,
        started_at=0,
        labels=labels,
    )
