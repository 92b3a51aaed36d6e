"""Which rendered documents are Applications or ApplicationSets (app of apps, issue 14).

An app's render may hold `Application`/`ApplicationSet` documents of Argo CD's
(`argoproj.io`) or Conveyor's (`conveyor.dev`) API group. They are not objects for the
target: `split` takes them out of the render before it is stamped and synced, and the
reconciler reads them as apps of their own (`children`). Called by `steps.render`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.targets.base import Manifest

GROUPS = frozenset({"argoproj.io", "conveyor.dev"})
KINDS = frozenset({"Application", "ApplicationSet"})


def is_app_document(obj: Manifest) -> bool:
    group = str(obj.get("apiVersion") or "").split("/", 1)[0]
    return group in GROUPS and obj.get("kind") in KINDS


def split(manifests: Iterable[Manifest]) -> tuple[list[Manifest], tuple[Manifest, ...]]:
    """(objects for the target, Application and ApplicationSet documents)."""
    objects: list[Manifest] = []
    apps: list[Manifest] = []
    for obj in manifests:
        (apps if is_app_document(obj) else objects).append(obj)
    return objects, tuple(apps)
