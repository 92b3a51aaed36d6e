"""An informer: the live objects of one resource kind, kept current by LIST then WATCH.

The cycle (as client-go's reflector and Argo CD's cluster cache run it):

1. LIST the kind (in the scope's namespace, limited by its label selector; the source pages
   it, 500 objects a page, and lists again in full when a continue token expired:
   `clients.kube_watch`) and replace the cache with every page's objects, emitting the
   differences against what was cached before;
2. WATCH from the list's resourceVersion (its last page's) with bookmarks; each event
   updates the cache and the resourceVersion to resume from (a BOOKMARK moves it without
   an object);
3. when the stream ends (the server's `timeoutSeconds`, a dropped connection) WATCH again
   from the last resourceVersion seen, after a backoff when it failed;
4. on `410 Gone` (the resourceVersion fell out of the server's history) go back to 1: the
   re-list's differences stand for the events missed, so an object deleted while the
   watch was away is reported DELETED;
5. every `resync` seconds go back to 1 too (a full re-list, as Argo CD's cluster cache
   does, rather than client-go's replay of the cache: it catches anything a watch missed,
   and it emits only real differences).

Listeners (`subscribe`) get a `Change` per difference, synchronously, in order. Changes
from the very first LIST are marked `initial` (filling the cache is not a change in the
cluster). Started, shared and stopped by `conveyor.targets.kubernetes.watch.Watches`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conveyor.clients.kube_watch import (
    EventType,
    ListWatch,
    ResourceKind,
    Scope,
    WatchError,
    WatchEvent,
    WatchGone,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


class ChangeType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference in the cache; `object` is the last known state for DELETED, and
    `received` the `time.monotonic()` at which the informer learnt of it."""

    type: ChangeType
    key: Key
    object: dict[str, Any]
    received: float
    initial: bool = False


Listener = Callable[[Change], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Delays between failed attempts: `initial`, times `factor` per failure, capped."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(failures - 1, 0))


@dataclass(slots=True)
class Stats:
    """Counters tests and /metrics read: what the informer did so far."""

    lists: int = 0
    watches: int = 0
    bookmarks: int = 0
    gone: int = 0
    resyncs: int = 0
    failures: int = 0
    last_error: str = ""
    watch_versions: list[str] = field(default_factory=list)


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Informer:
    """The cache of one (kind, scope); `run` keeps it current until cancelled."""

    def __init__(
        self,
        source: ListWatch,
        kind: ResourceKind,
        scope: Scope | None = None,
        *,
        resync: float = 300.0,
        backoff: Backoff | None = None,
    ) -> None:
        if not resync > 0:
            raise ValueError(f"resync period of {kind} must be a positive number of seconds")
        self.source = source
        self.kind = kind
        self.scope = scope or Scope()
        self.resync = resync
        self.backoff = backoff or Backoff()
        self.objects: dict[Key, dict[str, Any]] = {}
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.stats = Stats()
        self._listeners: list[Listener] = []
        self._listed_at = 0.0

    # -- reading --------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The cached object itself, shared with every reader: copy it before changing it
        (the target's `get` hands out copies)."""
        return self.objects.get((namespace, name))

    def items(self) -> list[dict[str, Any]]:
        return list(self.objects.values())

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` for every later change; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """LIST, WATCH, resume, re-list on 410 and on resync; until cancelled."""
        failures, must_list = 0, True
        while True:
            try:
                if must_list:
                    await self._list()
                    must_list = False
                started = time.monotonic()
                must_list = await self._watch_until(self._next_resync())
                failures = 0
                if time.monotonic() - started < self.backoff.initial:
                    await asyncio.sleep(self.backoff.initial)  # a server ending watches at once
            except WatchGone as exc:
                self.stats.gone += 1
                log.info("%s; re-listing %s", exc, self.kind)
                must_list = True
            except WatchError as exc:
                failures += 1
                self.stats.failures += 1
                self.stats.last_error = str(exc)
                delay = self.backoff.delay(failures)
                log.warning("%s; trying again in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    def _typed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A LIST's items come without `apiVersion` and `kind` (the list carries them);
        cached objects have both, as a GET or a watch event shows them, so that health
        rules and refs read them from the object."""
        return {"apiVersion": self.kind.api_version, "kind": self.kind.kind, **obj}

    def _next_resync(self) -> float:
        return self._listed_at + self.resync

    async def _list(self) -> None:
        listing = await self.source.list(self.kind, self.scope)
        self.stats.lists += 1
        self._listed_at = time.monotonic()
        items = [self._typed(obj) for obj in listing.items]
        self._replace(items, initial=not self.synced.is_set())
        self.resource_version = listing.resource_version
        self.synced.set()

    async def _watch_until(self, deadline: float) -> bool:
        """Watch from the last resourceVersion until the stream ends (False: resume) or
        the resync deadline passes (True: list again)."""
        self.stats.watches += 1
        self.stats.watch_versions.append(self.resource_version)
        started = time.monotonic()
        stream = self.source.watch(self.kind, self.scope, resource_version=self.resource_version)
        try:
            async with asyncio.timeout(max(deadline - started, 0.0)):
                async for event in stream:
                    self._apply(event)
        except TimeoutError:
            self.stats.resyncs += 1
            return True
        finally:
            with contextlib.suppress(WatchError):
                await stream.aclose()
        return False

    # -- cache updates --------------------------------------------------------------------

    def _apply(self, event: WatchEvent) -> None:
        if event.resource_version:
            self.resource_version = event.resource_version
        if event.type == EventType.BOOKMARK:
            self.stats.bookmarks += 1
            return
        key = key_of(event.object)
        old = self.objects.get(key)
        if event.type == EventType.DELETED:
            if self.objects.pop(key, None) is not None:
                self._emit(
                    Change(
                        type=ChangeType.DELETED,
                        key=key,
                        object=event.object,
                        received=event.received,
                    )
                )
            return
        self.objects[key] = event.object
        if old is None or old != event.object:  # a replayed ADDED of a known object is no change
            kind = ChangeType.ADDED if old is None else ChangeType.MODIFIED
            self._emit(Change(type=kind, key=key, object=event.object, received=event.received))

    def _replace(self, items: Iterable[dict[str, Any]], *, initial: bool) -> None:
        """Make the cache the LIST's answer, emitting each difference."""
        now = time.monotonic()
        fresh = {key_of(obj): obj for obj in items}
        old = self.objects
        self.objects = fresh
        for key, obj in old.items():
            if key not in fresh:
                self._emit(Change(type=ChangeType.DELETED, key=key, object=obj, received=now))
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None or before != obj:
                kind = ChangeType.ADDED if before is None else ChangeType.MODIFIED
                self._emit(Change(type=kind, key=key, object=obj, received=now, initial=initial))

    def _emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # one broken listener must not stop the cache
                log.exception("listener of %s failed on %s", self.kind, change.key)
