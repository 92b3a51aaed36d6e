"""Pod templates of workloads and their identity hash (pure).

Called by `workloads`, `creation` and `target`.
"""

from __future__ import annotations

from typing import Any

from conveyor.targets.podman import names

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Pod", "Job")


def template_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload (a Pod is its own template)."""
    if obj.get("kind") == "Pod":
        return {"metadata": obj.get("metadata") or {}, "spec": obj.get("spec") or {}}
    template: dict[str, Any] = (obj.get("spec") or {}).get("template") or {}
    return template


def template_hash(obj: dict[str, Any], services: tuple[str, ...] = ()) -> str:
    """The identity of a workload's replicas: pod template plus the Service names they
    answer to (network aliases are fixed at creation, so a new matching Service rolls the
    replicas, without downtime, to give them its name)."""
    template = template_of(obj)
    labels = (template.get("metadata") or {}).get("labels") or {}
    body: dict[str, Any] = {"labels": labels, "spec": template.get("spec") or {}}
    if services:
        body["services"] = list(services)
    return names.spec_hash(body)
