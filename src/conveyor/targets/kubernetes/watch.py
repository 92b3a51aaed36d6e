"""The informers of one Kubernetes target, shared, and waits resolved by their events.

`Watches` holds one `Informer` per (resource kind, scope) for a target: every application
that needs a kind `acquire`s it, and the first one starts the LIST+WATCH; later ones share
that single watch; `release` by the last one stops it (reference counted). `wait_for`
answers "tell me when this object satisfies that" from the cache and its change events,
with no polling: hook Jobs waiting for completion and health waits between sync waves.

Created by the Kubernetes target (one per target) with a `ListWatch` source; the drift
feed (`watch_events.DriftFeed`) subscribes to the informers it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass

from conveyor.clients.kube_watch import ListWatch, ResourceKind, Scope
from conveyor.targets.base import Manifest, ObjectRef, TargetError
from conveyor.targets.kubernetes.informer import Backoff, Change, ChangeType, Informer

log = logging.getLogger(__name__)

#: `changed` returns after this long at most even with no event: a change that landed
#: between the caller's read and its call to `changed` is then seen at the next check.
RECHECK = 1.0
#: … and after this long when a ref's kind is not watched here (plain polling).
UNWATCHED = 0.1

Predicate = Callable[[Manifest | None], bool]
OnStart = Callable[[Informer], None]


class WaitTimedOut(TargetError):
    """`wait_for` gave up: the object did not reach the state waited for in time."""


class NotWatched(TargetError):
    """`wait_for` was asked about a kind no informer of this target watches."""


@dataclass(slots=True)
class _Shared:
    informer: Informer
    task: asyncio.Task[None]
    users: int = 0


class Watches:
    """One shared informer per (kind, scope) of a target, reference-counted."""

    def __init__(
        self,
        source: ListWatch,
        *,
        resync: float = 300.0,
        backoff: Backoff | None = None,
        on_start: OnStart | None = None,
    ) -> None:
        self.source = source
        self.resync = resync
        self.backoff = backoff or Backoff()
        self.on_start = on_start
        self._shared: dict[tuple[ResourceKind, Scope], _Shared] = {}

    def acquire(self, kind: ResourceKind, scope: Scope | None = None) -> Informer:
        """The informer of `kind` in `scope`, started on first use; pair with `release`."""
        key = (kind, scope or Scope())
        shared = self._shared.get(key)
        if shared is None:
            informer = Informer(self.source, kind, key[1], resync=self.resync, backoff=self.backoff)
            if self.on_start is not None:
                self.on_start(informer)
            task = asyncio.create_task(informer.run(), name=f"informer {kind}")
            shared = self._shared[key] = _Shared(informer=informer, task=task)
        shared.users += 1
        return shared.informer

    async def release(self, kind: ResourceKind, scope: Scope | None = None) -> None:
        """One user less; the last one stops the watch and drops the cache."""
        key = (kind, scope or Scope())
        shared = self._shared.get(key)
        if shared is None:
            return
        shared.users -= 1
        if shared.users <= 0:
            del self._shared[key]
            await _stop(shared.task)

    @contextlib.asynccontextmanager
    async def using(
        self, kind: ResourceKind, scope: Scope | None = None
    ) -> AsyncIterator[Informer]:
        informer = self.acquire(kind, scope)
        try:
            yield informer
        finally:
            await self.release(kind, scope)

    def users(self, kind: ResourceKind, scope: Scope | None = None) -> int:
        shared = self._shared.get((kind, scope or Scope()))
        return shared.users if shared else 0

    def informers(self) -> list[Informer]:
        return [s.informer for s in self._shared.values()]

    async def close(self) -> None:
        """Stop every watch, whoever still holds it (the target is shutting down)."""
        shared, self._shared = list(self._shared.values()), {}
        for item in shared:
            await _stop(item.task)

    # -- waits ----------------------------------------------------------------------------

    def informer_for(self, ref: ObjectRef) -> Informer:
        """The running informer whose kind and scope cover `ref`."""
        for informer in self.informers():
            kind, scope = informer.kind, informer.scope
            same_kind = (kind.group, kind.kind) == (ref.group, ref.kind)
            if same_kind and scope.namespace in (None, ref.namespace):
                return informer
        raise NotWatched(ref, f"no watch on {ref.kind} here: acquire its informer first")

    async def wait_for(
        self, ref: ObjectRef, predicate: Predicate, timeout: float
    ) -> Manifest | None:
        """The object (None: absent) once `predicate` holds for it, from the cache now or
        from the first change that makes it hold; `WaitTimedOut` after `timeout` seconds."""
        informer = self.informer_for(ref)
        loop = asyncio.get_running_loop()
        found: asyncio.Future[Manifest | None] = loop.create_future()

        def check(change: Change) -> None:
            if change.key != (ref.namespace, ref.name) or found.done():
                return
            obj = None if change.type == ChangeType.DELETED else change.object
            if predicate(obj):
                found.set_result(obj)

        unsubscribe = informer.subscribe(check)
        try:
            async with asyncio.timeout(timeout):
                await informer.synced.wait()
                current = informer.get(ref.namespace, ref.name)
                if not found.done() and predicate(current):
                    return current
                return await found
        except TimeoutError:
            raise WaitTimedOut(ref, f"not there after {timeout:g}s") from None
        finally:
            unsubscribe()


async def changed(watches: Watches, refs: Collection[ObjectRef], timeout: float) -> None:
    """Return once one of `refs` changes in its informer's cache, or after `timeout` (capped
    by `RECHECK`, or by `UNWATCHED` when a ref's kind is not watched). What a Kubernetes
    target's `ChangeFeed.changed` calls; `reconcile.sync` waits for a wave's health on it."""
    loop = asyncio.get_running_loop()
    woke: asyncio.Future[None] = loop.create_future()
    cap, unsubscribes = RECHECK, []
    for ref in refs:
        try:
            informer = watches.informer_for(ref)
        except NotWatched:
            cap = UNWATCHED
            continue
        unsubscribes.append(informer.subscribe(_waker(woke, (ref.namespace, ref.name))))
    try:
        await asyncio.wait({woke}, timeout=min(timeout, cap))
    finally:
        for unsubscribe in unsubscribes:
            unsubscribe()


def _waker(woke: asyncio.Future[None], key: tuple[str, str]) -> Callable[[Change], None]:
    def wake(change: Change) -> None:
        if change.key == key and not woke.done():
            woke.set_result(None)

    return wake


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
