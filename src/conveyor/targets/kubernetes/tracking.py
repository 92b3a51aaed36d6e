"""Argo CD-compatible resource tracking: which app owns a live object (issue 16).

Argo CD marks what an Application deployed with the label `app.kubernetes.io/instance:
<app>` ("label"), or with the annotation `argocd.argoproj.io/tracking-id:
<app>:<group>/<kind>:<namespace>/<name>` ("annotation"), or both ("annotation+label");
the annotation names the object itself, so a copy of an object (same labels, other name)
is not taken for the app's. A `kubernetes` target chooses with `tracking:` in
`conveyor.yaml` (default `annotation+label`, so clusters shared with Argo CD read either).

The reconciler's own `OWNER_LABEL` (`conveyor.dev/app`) is stamped as on every target.
`stamp` adds the Argo CD marks before apply; `owner` reads them back; `selector` is the
label selector `list_owned` sends (the annotation cannot be selected on: with
"annotation" the OWNER_LABEL selects and the annotation decides). Pure; called by
`targets.kubernetes.target`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from conveyor.core.errors import UserError
from conveyor.targets.base import OWNER_LABEL, Manifest, NormalizationRule, ObjectRef

INSTANCE_LABEL = "app.kubernetes.io/instance"
TRACKING_ID = "argocd.argoproj.io/tracking-id"


class Tracking(StrEnum):
    LABEL = "label"
    ANNOTATION = "annotation"
    ANNOTATION_LABEL = "annotation+label"

    @classmethod
    def parse(cls, value: Any, *, target: str) -> Tracking:
        try:
            return cls(str(value))
        except ValueError:
            raise UserError(
                f"target {target!r}: tracking {value!r} is not a tracking method",
                hint="use label, annotation or annotation+label (Argo CD's methods)",
            ) from None

    @property
    def labels(self) -> bool:
        return self is not Tracking.ANNOTATION

    @property
    def annotates(self) -> bool:
        return self is not Tracking.LABEL


def tracking_id(app: str, ref: ObjectRef) -> str:
    return f"{app}:{ref.group}/{ref.kind}:{ref.namespace}/{ref.name}"


def stamp(obj: Manifest, tracking: Tracking) -> Manifest:
    """`obj` with the Argo CD marks of the app its OWNER_LABEL names (none: unchanged)."""
    meta = dict(obj.get("metadata") or {})
    app = (meta.get("labels") or {}).get(OWNER_LABEL)
    if not app:
        return obj
    if tracking.labels:
        meta["labels"] = {**meta["labels"], INSTANCE_LABEL: app}
    if tracking.annotates:
        notes = dict(meta.get("annotations") or {})
        notes[TRACKING_ID] = tracking_id(app, ObjectRef.of(obj))
        meta["annotations"] = notes
    return {**obj, "metadata": meta}


def owner(obj: Manifest, tracking: Tracking) -> str | None:
    """The app `obj` belongs to under `tracking`, or None."""
    meta = obj.get("metadata") or {}
    if tracking.annotates:
        note = str((meta.get("annotations") or {}).get(TRACKING_ID) or "")
        app = note.partition(":")[0]
        if app and note == tracking_id(app, ObjectRef.of(obj)):
            return app
        if tracking is Tracking.ANNOTATION:
            return None
    found = (meta.get("labels") or {}).get(INSTANCE_LABEL)
    return str(found) if found else None


def selector(app: str, tracking: Tracking) -> dict[str, str]:
    return {INSTANCE_LABEL: app} if tracking.labels else {OWNER_LABEL: app}


def selector_key(tracking: Tracking) -> str:
    """The label every owned object carries, whatever its app: what the target's watches
    select on (an existence selector)."""
    return INSTANCE_LABEL if tracking.labels else OWNER_LABEL


def normalization(tracking: Tracking) -> tuple[NormalizationRule, ...]:
    """The marks `stamp` adds are the target's, not the app's: the diff ignores them (and
    the `annotations: {}` left where the tracking id was the only annotation)."""
    pointers = []
    if tracking.labels:
        pointers.append("/metadata/labels/app.kubernetes.io~1instance")
    if tracking.annotates:
        pointers.append("/metadata/annotations/argocd.argoproj.io~1tracking-id")
    return (
        NormalizationRule(kind="*", pointers=tuple(pointers)),
        NormalizationRule(kind="*", pointers=("/metadata/annotations",), default={}),
    )
