"""Drift from watches: the informers' changes as the Target protocol's `TargetEvent`s.

The Kubernetes target's `events()` is `DriftFeed.events()`; `reconcile.loop` reads it and
queues a reconcile of the event's `app` at once, so a `kubectl edit` or a deletion by hand
is noticed without waiting for the poll interval (issue 16: ≤ 200 ms from the watch event
to the queued reconcile). The feed subscribes to every informer `Watches` starts
(`DriftFeed.attach` is its `on_start`).

What becomes an event: ADDED and MODIFIED are CHANGED, DELETED is DELETED, including the
differences a re-list reports after `410 Gone`; the first LIST's fill of the cache is not
(nothing changed in the cluster). `app` is read from the object by `app_of` (the tracking
label by default; the target passes its own reader for annotation tracking). A write the
target makes itself is announced: `hold(ref)` before it, then `expect(ref,
resourceVersion)` after an apply, `expect_gone(ref)` after a delete, or `release(ref)`
when it failed. The watch event of that write (which may arrive before the write's own
answer: another connection) is then not reported as drift; other changes of `ref` held
meanwhile are reported when the hold ends.

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
        self._gone: set[ObjectRef] = set()
        self._held: dict[ObjectRef, list[tuple[Change, TargetEvent]]] = {}

    def attach(self, informer: Informer) -> None:
        """Report `informer`'s changes (Watches' `on_start`)."""
        group, kind = informer.kind.group, informer.kind.kind
        informer.subscribe(lambda change: self._on_change(group, kind, change))

    def hold(self, ref: ObjectRef) -> None:
        """The target is about to write `ref`: keep its changes until the write's answer."""
        self._held.setdefault(ref, [])

    def expect(self, ref: ObjectRef, resource_version: str) -> None:
        """The target wrote `ref` itself; its watch event at that version is no drift."""
        self._expected[ref] = resource_version
        self.release(ref)

    def expect_gone(self, ref: ObjectRef) -> None:
        """The target deleted `ref`; its DELETED event (and the MODIFIED one marking it
        for deletion, with a propagation policy) is no drift."""
        self._gone.add(ref)
        self.release(ref)

    def release(self, ref: ObjectRef) -> None:
        """End the hold of `ref`: report what is not the target's own write."""
        for change, event in self._held.pop(ref, []):
            if not self._own_write(ref, change):
                self._publish(event, change.received)

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
        gone = change.type == ChangeType.DELETED
        event = TargetEvent(
            ref=ref,
            kind=EventKind.DELETED if gone else EventKind.CHANGED,
            app=self.app_of(change.object),
        )
        if ref in self._held:
            self._held[ref].append((change, event))
        elif not self._own_write(ref, change):
            self._publish(event, change.received)

    def _publish(self, event: TargetEvent, received: float) -> None:
        for queue in self._queues:
            queue.put_nowait((event, received))

    def _own_write(self, ref: ObjectRef, change: Change) -> bool:
        meta = change.object.get("metadata") or {}
        if ref in self._gone:
            if change.type == ChangeType.DELETED:
                self._gone.discard(ref)
                return True
            return bool(meta.get("deletionTimestamp"))
        expected = self._expected.get(ref)
        if expected is None or change.type == ChangeType.DELETED:
            return False
        if str(meta.get("resourceVersion") or "") == expected:
            del self._expected[ref]
            return True
        return False
