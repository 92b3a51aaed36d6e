"""`MemoryTarget`: a FAKE target for tests and benches, not a place to run anything.

It keeps objects in a dict and simulates the controllers of a Kubernetes cluster just
enough for health checks: server-populated metadata, defaulted spec fields (declared in
`normalization`, as a real target must), and a `status` that moves from "in progress" to
"ready" once `ready_after` seconds of the injected clock have passed since the spec last
changed. A container image containing `broken` never becomes ready (Deployments report
ProgressDeadlineExceeded, Jobs and Pods fail), which lets tests drive Degraded health.

Test hooks: `edit()` / `remove()` change objects out of band (drift) and emit events;
`report()` writes a status as a custom resource's controller would (kept over the simulation);
`reject` refuses chosen objects; `on_apply` / `on_delete` see each object before it is
applied / deleted;
`journal` lists every apply/delete in order; `apply_delay` slows applies so a test can kill a
reconciler mid-sync; `state_file` persists every mutation atomically so the target
outlives a reconciler process (the kill -9 acceptance test). Called by tests, the bench
and `conveyor.app` when the config names a target of type `memory`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.targets import memory_objects as objects
from conveyor.targets.base import (
    APPLY,
    OWNER_LABEL,
    ApplyOptions,
    EventKind,
    Manifest,
    NormalizationRule,
    ObjectRef,
    Propagation,
    TargetEvent,
    TargetRejected,
)
from conveyor.targets.memory_status import DEFAULTS, simulate_status

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_SERVER_FIELDS = (
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/metadata/managedFields",
)

NORMALIZATION: tuple[NormalizationRule, ...] = (
    NormalizationRule(kind="*", pointers=_SERVER_FIELDS),
    NormalizationRule(kind="Service", group="", pointers=("/spec/clusterIP", "/spec/clusterIPs")),
    *DEFAULTS,
)


@dataclass(slots=True, kw_only=True)
class _Live:
    spec_obj: Manifest  # what was applied (plus defaults), without status
    uid: str
    generation: int
    version: int
    created: float
    changed: float  # clock time of the last spec change: the controllers restart from it
    status: dict[str, Any] | None = None  # reported by a test's "controller", not persisted
    # The config the last apply wrote (kubectl's last-applied), kept as text as an API
    # server keeps it: 10,000 parsed copies cost the scale bench its garbage collections.
    last_json: str = ""
    last_text: str = ""  # `last` as the annotation shows it (never a Secret's)

    @property
    def last(self) -> Manifest | None:
        return json.loads(self.last_json) if self.last_json else None

    def remember(self, ref: ObjectRef, last: Manifest | None) -> None:
        self.last_json = json.dumps(last, sort_keys=True) if last is not None else ""
        self.last_text = self.last_json if ref.kind != "Secret" else ""  # data stays out


@dataclass(slots=True)
class MemoryTarget:
    """An in-memory, optionally file-backed fake of a Kubernetes-like target."""

    target_name: str = "memory"
    clock: Callable[[], float] = time.time
    ready_after: float = 0.0
    apply_delay: float = 0.0
    state_file: Path | None = None
    reject: Callable[[Manifest], str | None] | None = None
    on_apply: Callable[[Manifest], None] | None = None
    on_delete: Callable[[ObjectRef], None] | None = None
    applies: int = 0
    deletes: int = 0
    journal: list[str] = field(default_factory=list)
    _objects: dict[ObjectRef, _Live] = field(default_factory=dict)
    _by_app: dict[str, set[ObjectRef]] = field(default_factory=dict)
    _queues: list[asyncio.Queue[TargetEvent]] = field(default_factory=list)
    _counter: int = 0

    def __post_init__(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            self._load(self.state_file)

    @property
    def name(self) -> str:
        return self.target_name

    @property
    def normalization(self) -> tuple[NormalizationRule, ...]:
        return NORMALIZATION

    async def apply(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest:
        """Merges as `kubectl apply` (server-side too); `options.replace` writes `obj` as is."""
        if self.apply_delay:
            await asyncio.sleep(self.apply_delay)
        ref = ObjectRef.of(obj)
        if self.on_apply is not None:
            self.on_apply(obj)
        self._validate(ref, obj)
        self.applies += 1
        self.journal.append(f"{'replace' if options.replace else 'apply'} {ref}")
        config = objects.stored(obj)
        live = self._objects.get(ref)
        if live is not None and not options.replace:
            obj = objects.merge(live.spec_obj, config, live.last)
        self._upsert(ref, obj, last=config)
        return self._render(ref)

    async def delete(
        self, ref: ObjectRef, *, propagation: Propagation = Propagation.FOREGROUND
    ) -> bool:
        """`ref`, and its dependents (ownerReferences) first (foreground) or after it
        (background); ORPHAN keeps them, minus their reference to it (Kubernetes' GC)."""
        self.deletes += 1
        if self.on_delete is not None:
            self.on_delete(ref)
        live = self._objects.get(ref)
        uid = live.uid if live else None
        dependents = [r for r, o in self._objects.items() if objects.owned_by(o.spec_obj, uid)]
        for dep in dependents if propagation == Propagation.ORPHAN else ():
            self.journal.append(f"orphan {dep}")
            self._objects[dep].spec_obj = objects.disown(self._objects[dep].spec_obj, uid)
        if propagation == Propagation.ORPHAN:
            dependents = []
        if propagation == Propagation.FOREGROUND:
            for dep in dependents:
                await self.delete(dep, propagation=propagation)
        self.journal.append(f"delete {ref}")
        existed = self._drop(ref)
        for dep in dependents if propagation == Propagation.BACKGROUND else ():
            await self.delete(dep, propagation=propagation)
        self._save()
        return existed

    async def get(self, ref: ObjectRef) -> Manifest | None:
        return self._render(ref) if ref in self._objects else None

    async def list_owned(self, app: str) -> list[Manifest]:
        return [self._render(ref) for ref in sorted(self._by_app.get(app, ()))]

    def events(self) -> AsyncIterator[TargetEvent]:
        queue: asyncio.Queue[TargetEvent] = asyncio.Queue()
        self._queues.append(queue)
        return _drain(queue)

    # -- test hooks -------------------------------------------------------------------

    def edit(self, ref: ObjectRef, mutate: Callable[[Manifest], None]) -> None:
        """Change a live object out of band (someone ran `kubectl edit`)."""
        live = self._objects[ref]
        obj = objects.clone(live.spec_obj)
        mutate(obj)
        self._upsert(ref, obj)
        self._emit(ref, EventKind.CHANGED)

    def report(self, ref: ObjectRef, status: dict[str, Any]) -> None:
        """A controller writes `status` (a status write bumps resourceVersion)."""
        self._counter += 1
        self._objects[ref].status, self._objects[ref].version = status, self._counter
        self._emit(ref, EventKind.CHANGED)

    def remove(self, ref: ObjectRef) -> None:
        """Delete a live object out of band."""
        self._drop(ref)
        self._save()
        self._emit(ref, EventKind.DELETED)

    def peek(self, ref: ObjectRef) -> Manifest | None:
        """`get` without awaiting, for test hooks."""
        return self._render(ref) if ref in self._objects else None

    def refs(self) -> list[ObjectRef]:
        return sorted(self._objects)

    # -- internals --------------------------------------------------------------------

    def _validate(self, ref: ObjectRef, obj: Manifest) -> None:
        if not ref.kind or not ref.name or not obj.get("apiVersion"):
            raise TargetRejected(ref, "apiVersion, kind and metadata.name are required")
        reason = self.reject(obj) if self.reject else None
        if reason:
            raise TargetRejected(ref, reason)

    def _upsert(self, ref: ObjectRef, obj: Manifest, *, last: Manifest | None = None) -> None:
        applied = objects.with_defaults(ref, objects.stored(obj))
        now = self.clock()
        self._counter += 1
        live = self._objects.get(ref)
        if live is None:
            uid = f"uid-{self._counter}"
            live = _Live(
                spec_obj=applied,
                uid=uid,
                generation=1,
                version=self._counter,
                created=now,
                changed=now,
            )
            self._objects[ref] = live
        elif live.spec_obj != applied:
            if live.spec_obj.get("spec") != applied.get("spec"):
                live.generation += 1
                live.changed = now
            live.spec_obj = applied
            live.version = self._counter
        if last is not None:
            live.remember(ref, last)
        self._index(ref, applied)
        self._save()

    def _index(self, ref: ObjectRef, obj: Manifest) -> None:
        for refs in self._by_app.values():
            refs.discard(ref)
        owner = ((obj.get("metadata") or {}).get("labels") or {}).get(OWNER_LABEL)
        if owner:
            self._by_app.setdefault(str(owner), set()).add(ref)

    def _drop(self, ref: ObjectRef) -> bool:
        for refs in self._by_app.values():
            refs.discard(ref)
        return self._objects.pop(ref, None) is not None

    def _render(self, ref: ObjectRef) -> Manifest:
        live = self._objects[ref]
        obj: Manifest = objects.clone(live.spec_obj)
        ready = self.clock() - live.changed >= self.ready_after
        meta = obj.setdefault("metadata", {})
        meta["uid"] = live.uid
        # opaque, and it changes whenever the object does, status included (as on a real
        # API server, where controllers' status writes bump it)
        meta["resourceVersion"] = f"{live.version}.{int(ready)}"
        meta["generation"] = live.generation
        meta["creationTimestamp"] = objects.rfc3339(live.created)
        if live.last_text:
            meta.setdefault("annotations", {})[LAST_APPLIED] = live.last_text
        if ref.kind == "Service" and ref.group == "":
            obj.setdefault("spec", {})["clusterIP"] = f"10.96.0.{live.version % 250 + 1}"
        status = objects.clone(live.status) if live.status else None
        status = status or simulate_status(obj, generation=live.generation, ready=ready)
        if status is not None:
            obj["status"] = status
        return obj

    def _emit(self, ref: ObjectRef, kind: EventKind) -> None:
        live = self._objects.get(ref)
        labels = ((live.spec_obj.get("metadata") or {}).get("labels") or {}) if live else {}
        event = TargetEvent(ref=ref, kind=kind, app=labels.get(OWNER_LABEL))
        for queue in self._queues:
            queue.put_nowait(event)

    def _save(self) -> None:
        if self.state_file is None:
            return
        rows = [
            {
                "obj": live.spec_obj,
                "last": live.last,
                "uid": live.uid,
                "generation": live.generation,
                "version": live.version,
                "created": live.created,
                "changed": live.changed,
            }
            for live in self._objects.values()
        ]
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"counter": self._counter, "objects": rows}))
        tmp.replace(self.state_file)  # atomic: a kill -9 leaves the old or the new file

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self._counter = int(data["counter"])
        for row in data["objects"]:
            ref = ObjectRef.of(row["obj"])
            self._objects[ref] = _Live(
                spec_obj=row["obj"],
                uid=row["uid"],
                generation=row["generation"],
                version=row["version"],
                created=row["created"],
                changed=row["changed"],
            )
            self._objects[ref].remember(ref, row.get("last"))
            self._index(ref, row["obj"])


async def _drain(queue: asyncio.Queue[TargetEvent]) -> AsyncIterator[TargetEvent]:
    while True:
        yield await queue.get()
