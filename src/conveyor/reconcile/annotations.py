"""Argo CD's and Conveyor's annotations on rendered objects: known, or a render error.

Every `argocd.argoproj.io/*` and `conveyor.dev/*` annotation of a rendered object must be
one this table knows, with a value it takes; Argo CD would ignore a misspelt
`argocd.argoproj.io/sync-option` and sync something else than its author meant (issue
14). `sync-options` and `compare-options` are checked option by option against
`syncoptions` (resource scope). Applications rendered by another app (app of apps) are
checked where they are read as Applications, not here.

`check` is called once per render by `steps.render`; `sync_options` and `compare_options`
read an object's (already checked) options for `plan` and `sync`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.core.errors import UserError
from conveyor.core.location import Location
from conveyor.reconcile import syncoptions
from conveyor.targets.base import Manifest, ObjectRef

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
PREFIXES = ("argocd.argoproj.io/", "conveyor.dev/")
DELETE_POLICIES = ("BeforeHookCreation", "HookSucceeded", "HookFailed")
_BOOL = ("true", "false")

#: What Conveyor does with each annotation it knows; `None` values take any text.
KNOWN: dict[str, tuple[tuple[str, ...] | None, str]] = {
    "argocd.argoproj.io/hook": (None, "hook phases (checked by ordering)"),
    "conveyor.dev/hook": (None, "hook phases (checked by ordering)"),
    "argocd.argoproj.io/sync-wave": (None, "sync wave (checked by ordering)"),
    "conveyor.dev/sync-wave": (None, "sync wave (checked by ordering)"),
    DELETE_POLICY: (None, "hook delete policies"),
    SYNC_OPTIONS: (None, "per-object sync options"),
    COMPARE_OPTIONS: (None, "per-object compare options"),
    "conveyor.dev/prune": (_BOOL, '"false" keeps the object when it leaves Git'),
    "conveyor.dev/expose": (_BOOL, "Podman target: publish the Service's port"),
    "conveyor.dev/sops-ciphertext": (("keep",), "the object carries SOPS ciphertext on purpose"),
    # Argo CD writes these for its own tracking; Conveyor tracks by its inventory.
    "argocd.argoproj.io/tracking-id": (None, "accepted; Conveyor tracks by inventory"),
    "argocd.argoproj.io/installation-id": (None, "accepted; Conveyor tracks by inventory"),
    "argocd.argoproj.io/ignore-default-links": (_BOOL, "accepted; UI links only"),
    "argocd.argoproj.io/ignore-resource-updates": (_BOOL, "accepted; a cache hint"),
}

#: Annotations Argo CD knows that change what Conveyor would report: refused, not ignored.
REFUSED: dict[str, str] = {
    "argocd.argoproj.io/health-aggregate-overrides": "health overrides are not implemented",
    "argocd.argoproj.io/ignore-healthcheck": "excluding an object from health is not implemented",
    "argocd.argoproj.io/ignore-restart-policy": "Pod health by restartPolicy is not implemented",
}

#: Kinds read as Applications elsewhere (app of apps): their annotations are theirs.
_APPLICATION_KINDS = {("argoproj.io", "Application"), ("argoproj.io", "ApplicationSet")}


def check(objects: Iterable[Manifest]) -> None:
    """Raise UserError naming the object, the annotation and what is accepted."""
    for obj in objects:
        ref = ObjectRef.of(obj)
        if (ref.group, ref.kind) in _APPLICATION_KINDS:
            continue
        for key, value in _annotations(obj).items():
            if key.startswith(PREFIXES):
                _check_one(ref, key, str(value))


def _check_one(ref: ObjectRef, key: str, value: str) -> None:
    where = Location(file=str(ref))
    if key in REFUSED:
        raise UserError(
            f"annotation {key} is not supported",
            location=where,
            hint=f"{REFUSED[key]}; remove the annotation",
        )
    known = KNOWN.get(key)
    if known is None:
        raise UserError(
            f"unknown annotation {key}",
            location=where,
            hint="known: " + ", ".join(sorted(KNOWN)),
        )
    values, _meaning = known
    if values is not None and value.lower() not in values:
        raise UserError(
            f"annotation {key}: {value!r} has no meaning",
            location=where,
            hint=f"{key} takes {' or '.join(values)}",
        )
    if key == SYNC_OPTIONS:
        _parse(value, syncoptions.SYNC_OPTIONS, where, f"sync option in {key}")
    elif key == COMPARE_OPTIONS:
        _parse(value, syncoptions.COMPARE_OPTIONS, where, f"compare option in {key}")
    elif key == DELETE_POLICY:
        _delete_policies(value, where)


def _parse(
    text: str, table: dict[str, syncoptions.Option], where: Location, what: str
) -> dict[str, str]:
    return syncoptions.parse(
        text, scope=syncoptions.Scope.RESOURCE, table=table, where=where, what=what
    )


def _delete_policies(value: str, where: Location) -> None:
    for policy in (p.strip() for p in value.split(",")):
        if policy not in DELETE_POLICIES:
            raise UserError(
                f"unknown hook delete policy {policy!r} in {DELETE_POLICY}",
                location=where,
                hint="use " + ", ".join(DELETE_POLICIES),
            )


def sync_options(obj: Manifest | None) -> dict[str, str]:
    """The object's `argocd.argoproj.io/sync-options` (checked at render) as name → value."""
    return _options(obj, SYNC_OPTIONS)


def compare_options(obj: Manifest | None) -> dict[str, str]:
    return _options(obj, COMPARE_OPTIONS)


def _options(obj: Manifest | None, key: str) -> dict[str, str]:
    text = str(_annotations(obj).get(key, ""))
    pairs = (item.strip().partition("=") for item in text.split(","))
    return {name: value.lower() for name, _, value in pairs if name}


def _annotations(obj: Manifest | None) -> dict[str, object]:
    meta = (obj or {}).get("metadata") or {}
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    return dict(notes) if isinstance(notes, dict) else {}
