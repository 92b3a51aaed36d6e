"""Fields owned by given field managers, per a live object's `metadata.managedFields`.

Argo CD's `ignoreDifferences[].managedFieldsManagers`: the fields that the listed managers
own on the live object (a controller, an HPA scaling `spec.replicas`, `kubectl edit`) are
taken out of both sides of the diff. Ownership is read from the live object's
`metadata.managedFields` entries (`manager`, `fieldsType: FieldsV1`, `fieldsV1`), whose
FieldsV1 trees name fields as the Kubernetes API documents them:

* `f:<name>`: the field `<name>` of a map or struct;
* `k:<json>`: the item of a list whose key fields have the values in `<json>`
  (`k:{"name":"web"}` in `containers`, `k:{"containerPort":80,"protocol":"TCP"}`);
* `v:<json>`: the item of a set-like list equal to `<json>` (`finalizers`);
* `i:<n>`: the item at index `<n>`;
* `.`: the node itself is owned, not only children named beside it.

A node that is owned (an empty `{}` leaf, or one whose tree has `.`) is removed whole, as
structured-merge-diff's `RemoveItems` does; a node that only has owned children is walked
into. Pure; used by `reconcile.diff.compare`. Live objects of targets without managed
fields (memory, Podman) carry no `managedFields`: every field is Conveyor's, nothing is
taken out.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from conveyor.targets.base import Manifest

FieldsV1 = dict[str, Any]


def owned_by(live: Manifest, managers: Collection[str]) -> list[FieldsV1]:
    """The FieldsV1 trees `live` records for `managers` (any operation, any subresource)."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    return [
        entry["fieldsV1"]
        for entry in entries
        if isinstance(entry, dict)
        and entry.get("manager") in managers
        and entry.get("fieldsType", "FieldsV1") == "FieldsV1"
        and isinstance(entry.get("fieldsV1"), dict)
    ]


def remove_owned(obj: Any, fields: FieldsV1) -> None:
    """Remove from `obj` (in place) every field the FieldsV1 tree `fields` owns."""
    if isinstance(obj, dict):
        for key, sub in fields.items():
            if key.startswith("f:") and key[2:] in obj:
                name = key[2:]
                if _whole(sub):
                    del obj[name]
                else:
                    remove_owned(obj[name], sub)
    elif isinstance(obj, list):
        gone: set[int] = set()
        for key, sub in fields.items():
            for index in _items(obj, key):
                if _whole(sub):
                    gone.add(index)
                else:
                    remove_owned(obj[index], sub)
        obj[:] = [item for i, item in enumerate(obj) if i not in gone]


def _whole(sub: Any) -> bool:
    """Owned itself: a leaf (`{}`) or a node marked `.`."""
    return not isinstance(sub, dict) or not sub or "." in sub


def _items(items: list[Any], key: str) -> list[int]:
    """Indexes of the list items a `k:`, `v:` or `i:` key names (none for other keys)."""
    kind, _, text = key.partition(":")
    try:
        if kind == "i":
            index = int(text)
            return [index] if 0 <= index < len(items) else []
        if kind not in ("k", "v"):
            return []
        wanted = json.loads(text)
    except ValueError:
        return []
    if kind == "v":
        return [i for i, item in enumerate(items) if item == wanted]
    if not isinstance(wanted, dict):
        return []
    return [
        i
        for i, item in enumerate(items)
        if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())
    ]
