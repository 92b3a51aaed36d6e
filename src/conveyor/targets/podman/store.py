"""The Podman target's record of applied objects, on disk under `<state>/objects/`.

Podman has no API server, so the target keeps each applied manifest itself, with the fields
an API server would populate (`uid`, `resourceVersion`, `generation`,
`creationTimestamp`) and a little controller state (`extra`: e.g. when a rollout started).
ConfigMaps and Secrets live only here. The directory is 0700 and every file 0600, so Secret
data is never world-readable; nothing in this module logs object contents. Files are
replaced atomically, so a `kill -9` leaves either the old or the new record.

Called by `conveyor.targets.podman.target` (apply/delete/get) and the controller (reads
desired state, writes `extra`).
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.targets.base import Manifest, ObjectRef


@dataclass(slots=True, kw_only=True)
class Record:
    """One applied object and what the target populated for it."""

    obj: Manifest
    uid: str
    generation: int
    version: int
    created: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef.of(self.obj)

    def to_json(self) -> dict[str, Any]:
        return {
            "obj": self.obj,
            "uid": self.uid,
            "generation": self.generation,
            "version": self.version,
            "created": self.created,
            "extra": self.extra,
        }


def _file_name(ref: ObjectRef) -> str:
    return f"{ref.group or 'core'}.{ref.kind}.{ref.namespace or '-'}.{ref.name}.json"


class ObjectStore:
    """Applied objects keyed by `ObjectRef`, cached in memory, persisted per object."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)
        self._records: dict[ObjectRef, Record] = {}
        self._counter = 0
        for path in sorted(root.glob("*.json")):
            data = json.loads(path.read_text())
            record = Record(
                obj=data["obj"],
                uid=data["uid"],
                generation=data["generation"],
                version=data["version"],
                created=data["created"],
                extra=data.get("extra", {}),
            )
            self._records[record.ref] = record
            self._counter = max(self._counter, record.version)

    def get(self, ref: ObjectRef) -> Record | None:
        return self._records.get(ref)

    def find(self, kind: str, namespace: str, name: str) -> Record | None:
        """By kind, namespace and name, whatever API group the manifest used."""
        for ref, record in self._records.items():
            if (ref.kind, ref.namespace, ref.name) == (kind, namespace, name):
                return record
        return None

    def all(self, kind: str | None = None) -> list[Record]:
        return [r for ref, r in sorted(self._records.items()) if kind in (None, ref.kind)]

    def upsert(self, ref: ObjectRef, obj: Manifest) -> tuple[Record, bool]:
        """Store `obj`; returns the record and whether its content changed."""
        clean = copy.deepcopy(obj)
        clean.pop("status", None)
        old = self._records.get(ref)
        if old is not None and old.obj == clean:
            return old, False
        self._counter += 1
        spec_changed = old is None or old.obj.get("spec") != clean.get("spec")
        record = Record(
            obj=clean,
            uid=old.uid if old else str(uuid.uuid4()),
            generation=(old.generation if old else 0) + (1 if spec_changed else 0),
            version=self._counter,
            created=old.created if old else time.time(),
            extra=dict(old.extra) if old else {},
        )
        self._records[ref] = record
        self.save(record)
        return record, True

    def save(self, record: Record) -> None:
        path = self.root / _file_name(record.ref)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record.to_json(), handle)
        tmp.replace(path)

    def remove(self, ref: ObjectRef) -> bool:
        if self._records.pop(ref, None) is None:
            return False
        (self.root / _file_name(ref)).unlink(missing_ok=True)
        return True
