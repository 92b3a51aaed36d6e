"""Drift from watches: the informers' changes as the Target protocol's `TargetEvent`s.

The Kubernetes target's `events()` is `DriftFeed.events()`; `reconcile.loop` reads it and
queues a reconcile of the event's `app` at once, so a `kubectl edit` or a deletion by hand
is noticed without waiting for the poll interval (issue 16: ≤ 200 ms from the watch event
to the queued reconcile). The feed subscribes to every informer `Watches` starts
(`DriftFeed.attach` is its `on_start`).

What becomes an event: ADDED and MODIFIED are CHANGED, DELETED is DELETED, including the
differences a re-list reports after `410 Gone`; the first LIST's fill of the cache is not
(nothing changed in the cluster). `app` is read from the object by `app_of` (the tracking
label by default; the target passes its own reader for annotation tracking). A change the
reconciler made itself can be announced with `expect(ref, resourceVersion)`: the watch
event carrying that resourceVersion is then not reported back as drift.

Each event's latency (from the moment its watch line was read, or its re-list answered,
to the moment `events()` yields it) is kept in `latencies` for the bench and /metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from conveyor.targets.base import OWNER_LABEL, EventKind, Manifest, ObjectRef, TargetEvent
from conveyor.targets.kubernetes.informer import Change, ChangeType, Informer

AppOf = Callable[[Manifest], str | None]


def label_app(label: str = OWNER_LABEL) -> AppOf:
    """Reads the owning app from the tracking label `label`."""

    def app_of(obj: Manifest) -> str | None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        value = labels.get(label)
        return str(value) if value else None

    return app_of


class DriftFeed:
    """Fans informer changes out to every `events()` reader as `TargetEvent`s."""

    def __init__(self, *, app_of: AppOf | None = None, samples: int = 1000) -> None:
        self.app_of = app_of or label_app()
        self.latencies: deque[float] = deque(maxlen=samples)
        self._queues: list[asyncio.Queue[tuple[TargetEvent, float]]] = []
        self._expected: dict[ObjectRef, str] = {}

    def attach(self, informer: Informer) -> None:
        """Report `informer`'s changes (Watches' `on_start`)."""
        group, kind = informer.kind.group, informer.kind.kind
        informer.subscribe(lambda change: self._on_change(group, kind, change))

    def expect(self, ref: ObjectRef, resource_version: str) -> None:
        """The reconciler wrote `ref` itself; its watch event at that version is no drift."""
        self._expected[ref] = resource_version

    def events(self) -> AsyncIterator[TargetEvent]:
        queue: asyncio.Queue[tuple[TargetEvent, float]] = asyncio.Queue()
        self._queues.append(queue)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[tuple[TargetEvent, float]]
    ) -> AsyncIterator[TargetEvent]:
        try:
            while True:
                event, received = await queue.get()
                self.latencies.append(time.monotonic() - received)
                yield event
        finally:
            self._queues.remove(queue)

    def _on_change(self, group: str, kind: str, change: Change) -> None:
        if change.initial:
            return
        namespace, name = change.key
        ref = ObjectRef(group=group, kind=kind, namespace=namespace, name=name)
        if self._own_write(ref, change):
            return
        gone = change.type == ChangeType.DELETED
        event = TargetEvent(
            ref=ref,
            kind=EventKind.DELETED if gone else EventKind.CHANGED,
            app=self.app_of(change.object),
        )
        for queue in self._queues:
            queue.put_nowait((event, change.received))

    def _own_write(self, ref: ObjectRef, change: Change) -> bool:
        expected = self._expected.get(ref)
        if expected is None or change.type == ChangeType.DELETED:
            return False
        version = str((change.object.get("metadata") or {}).get("resourceVersion") or "")
        if version == expected:
            del self._expected[ref]
            return True
        return False
