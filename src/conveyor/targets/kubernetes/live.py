"""The Kubernetes target's view of its cluster: shared informers and the drift they show.

`ClusterWatch` is what `KubernetesTarget` owns for watching (issue 16): one `Watches`
(informers shared per kind) over an `HttpListWatch` source, whose informers report to one
`DriftFeed` (`on_start=feed.attach`). `watch(res, namespace)` starts the informer of a kind
the target applied or found owned objects of, in that namespace (all of them for a
cluster-scoped kind), selecting the tracking label (any app's: one watch per kind and
namespace for every app of the target). Per namespace, so that the namespaced Roles the
chart grants (`deploy/`) are enough: a cluster-wide watch would need a ClusterRole; `write(ref)`
brackets the target's own writes so their watch events are not reported as drift.
`events()` and `changed()` of the target are the feed's and `watch.changed` over these
informers. Each informer re-lists every `resync` seconds as a guard against a missed event
(the only re-list: drift itself comes from watch events).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

from conveyor.clients.kube_watch import HttpListWatch, ResourceKind, Scope
from conveyor.clients.kubediscovery import ApiResource
from conveyor.targets.base import Manifest, ObjectRef
from conveyor.targets.kubernetes import tracking as marks
from conveyor.targets.kubernetes.watch import Watches, changed
from conveyor.targets.kubernetes.watch_events import DriftFeed


class Write:
    """One of the target's own writes in progress; `done` with the server's answer."""

    def __init__(self, feed: DriftFeed, ref: ObjectRef) -> None:
        self.feed, self.ref = feed, ref
        self.finished = False

    def stored(self, live: Manifest) -> None:
        version = str((live.get("metadata") or {}).get("resourceVersion") or "")
        self.feed.expect(self.ref, version)
        self.finished = True

    def deleted(self, existed: bool) -> None:
        if existed:
            self.feed.expect_gone(self.ref)
        else:
            self.feed.release(self.ref)
        self.finished = True


class ClusterWatch:
    """The informers of one target and their drift feed."""

    def __init__(self, source: HttpListWatch, tracking: marks.Tracking, *, resync: float) -> None:
        self.source = source
        self.feed = DriftFeed(app_of=lambda obj: marks.owner(obj, tracking))
        self.watches = Watches(source, resync=resync, on_start=self.feed.attach)
        self.selector = marks.selector_key(tracking)
        self._watched: set[tuple[ApiResource, str | None]] = set()

    def watch(self, res: ApiResource, namespace: str) -> None:
        """Keep `res`'s objects in `namespace` watched from now on (once per kind and
        namespace; kinds that cannot be watched, per discovery's verbs, are left to the
        reconciler's polls)."""
        where = namespace if res.namespaced and namespace else None
        if (res, where) in self._watched or "watch" not in (res.verbs or ("watch",)):
            return
        self._watched.add((res, where))
        kind = ResourceKind(
            group=res.group,
            version=res.version,
            kind=res.kind,
            plural=res.plural,
            namespaced=res.namespaced,
        )
        self.watches.acquire(kind, Scope(namespace=where, label_selector=self.selector))

    @contextmanager
    def write(self, ref: ObjectRef) -> Iterator[Write]:
        """Around one apply or delete of `ref`: its own watch event is no drift."""
        self.feed.hold(ref)
        write = Write(self.feed, ref)
        try:
            yield write
        finally:
            if not write.finished:
                self.feed.release(ref)

    async def changed(self, refs: Collection[ObjectRef], timeout: float) -> None:
        await changed(self.watches, refs, timeout)

    async def close(self) -> None:
        await self.watches.close()
        await self.source.aclose()
