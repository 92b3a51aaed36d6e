"""The `kubernetes` target: desired state applied to a cluster's API server (issue 16).

Implements `targets.base.Target` over `clients.kubeapi.KubeApi`:
* `apply` stamps Argo CD tracking (`tracking`), finds the resource by discovery (a kind
  not served yet re-reads discovery once: a CRD applied earlier in the sync), and writes
  with server-side apply as field manager `conveyor`; `force=true` only with
  `ApplyOptions.force_conflicts` (ServerSideApply=true,Force=true); `Replace=true` PUTs.
  Applying a CustomResourceDefinition forgets its group's discovery, so its custom
  resources are found next (the reconciler orders CRDs before them: `reconcile.ordering`).
* `delete` sends the propagation policy (Argo CD's `PrunePropagationPolicy`).
* `list_owned(app)` lists, by the tracking label, the kinds this target applied plus the
  common built-in kinds (`COMMON_KINDS`), never every kind the cluster serves.
* `dry_run(obj)` is the object as the server would store it (`dryRun=All`): defaults and
  mutating webhooks included, nothing stored.
* `events()` is drift from watches (`live.ClusterWatch`): an informer per kind and
  namespace this target applied or found owned objects in, its changes outside this
  target's own writes as `TargetEvent`s; each informer re-lists every `resync` seconds
  as a guard.
* `changed(refs, timeout)` (the optional `ChangeFeed`) wakes on those watch events, so
  `reconcile.sync` waits for health without polling. `get` stays an API GET: the cache
  may lag behind a write just made, and apply decisions need the object as it is now.
Failures: `KubeError`s become `TargetRejected` (permanent) or `TargetUnavailable`.
Built by `targets.kubernetes.build` from `conveyor.yaml`; called by `reconcile`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import contextmanager

from conveyor.clients.kubeapi import KubeApi
from conveyor.clients.kubediscovery import ApiResource
from conveyor.clients.kubeerrors import KubeError, KubeForbidden, KubeUnknownKind
from conveyor.targets.base import (
    APPLY,
    ApplyOptions,
    Manifest,
    NormalizationRule,
    ObjectRef,
    Propagation,
    TargetEvent,
    TargetRejected,
    TargetUnavailable,
)
from conveyor.targets.kubernetes import tracking as marks
from conveyor.targets.kubernetes.live import ClusterWatch
from conveyor.targets.kubernetes.normalize import SERVER_FIELDS

log = logging.getLogger(__name__)

#: Kinds `list_owned` always looks at: (group, kind).
COMMON_KINDS = (
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
)
_CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
ESTABLISH_WAIT = 5.0  # seconds a just-applied CRD's kind may take to be served
ESTABLISH_TRIES = 20


class KubernetesTarget:
    """A cluster, through one API connection."""

    def __init__(
        self,
        *,
        name: str,
        api: KubeApi,
        tracking: marks.Tracking = marks.Tracking.ANNOTATION_LABEL,
        resync: float = 300.0,
    ) -> None:
        self._name = name
        self.api = api
        self.tracking = tracking
        self.resync = resync
        self._kinds: dict[tuple[str, str], None] = dict.fromkeys(COMMON_KINDS)
        self._applied: dict[tuple[str, str], set[str]] = {}  # kind → namespaces written
        self._crd_groups: set[str] = set()  # groups of the CRDs this target applied
        self.live = ClusterWatch(api.list_watch(), tracking, resync=resync)

    @property
    def name(self) -> str:
        return self._name

    @property
    def server(self) -> str:
        """The API server's URL: Argo CD's `destination.server` selects the target by it."""
        return self.api.server

    @property
    def normalization(self) -> tuple[NormalizationRule, ...]:
        return (*SERVER_FIELDS, *marks.normalization(self.tracking))

    async def apply(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest:
        ref = ObjectRef.of(obj)
        stamped = marks.stamp(obj, self.tracking)
        with _errors(ref):
            res = await self._served(obj, ref)
            with self.live.write(ref) as write:
                if options.replace:
                    live = await self.api.replace(res, stamped, validate=options.validate)
                else:
                    live = await self.api.apply(
                        res, stamped, force=options.force_conflicts, validate=options.validate
                    )
                write.stored(live)
        if marks.owner(stamped, self.tracking):  # not a namespace CreateNamespace made
            self._kinds[(ref.group, ref.kind)] = None
            self._applied.setdefault((ref.group, ref.kind), set()).add(ref.namespace)
            self.live.watch(res, ref.namespace)
        if (ref.group, ref.kind) == _CRD:
            group = str((obj.get("spec") or {}).get("group") or "")
            self.api.discovery.forget(group)
            self._crd_groups.add(group)
        return live

    async def dry_run(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest | None:
        """What `apply` would store, from the server (`dryRun=All`); None when the kind is
        not served yet and `options.skip_dry_run` allows that (a CRD in the same sync)."""
        ref = ObjectRef.of(obj)
        stamped = marks.stamp(obj, self.tracking)
        try:
            with _errors(ref):
                res = await self._served(obj, ref)
                if options.replace:
                    return await self.api.replace(
                        res, stamped, dry_run=True, validate=options.validate
                    )
                return await self.api.apply(
                    res,
                    stamped,
                    force=options.force_conflicts,
                    dry_run=True,
                    validate=options.validate,
                )
        except TargetRejected as exc:
            if options.skip_dry_run and isinstance(exc.__cause__, KubeUnknownKind):
                return None
            raise

    async def delete(
        self, ref: ObjectRef, *, propagation: Propagation = Propagation.FOREGROUND
    ) -> bool:
        with _errors(ref):
            res = await self._resource(ref)
            if res is None:
                return False
            with self.live.write(ref) as write:
                gone = await self.api.delete(
                    res, ref.name, ref.namespace, propagation=propagation.value
                )
                write.deleted(gone)
        return gone

    async def get(self, ref: ObjectRef) -> Manifest | None:
        with _errors(ref):
            res = await self._resource(ref)
            return None if res is None else await self.api.get(res, ref.name, ref.namespace)

    async def list_owned(self, app: str) -> list[Manifest]:
        """The app's live objects among the kinds applied here and the common ones."""
        found: list[Manifest] = []
        for group, kind in list(self._kinds):
            found += [
                o
                for o in await self._list(group, kind, app)
                if marks.owner(o, self.tracking) == app
            ]
        return found

    async def _list(self, group: str, kind: str, app: str) -> list[Manifest]:
        """One kind's objects carrying the app's selector, across all namespaces. Where
        that is forbidden (RBAC: namespaced Roles, as the chart in `deploy/` grants), a kind
        this target applied is listed in each namespace it wrote it to, and a common kind
        it never applied is skipped, not an error: least-privilege credentials need not
        read Secrets to deploy an app without any."""
        with _errors(None):
            res = await self._resource(ObjectRef(group=group, kind=kind, namespace="", name=""))
            if res is None or "list" not in (res.verbs or ("list",)):
                return []
            labels = marks.selector(app, self.tracking)
            try:
                found = await self.api.list(res, labels=labels)
            except KubeForbidden:
                written = self._applied.get((group, kind))
                if written is None or not res.namespaced:
                    if written is not None:
                        raise
                    log.debug("may not list %s.%s; skipped (never applied here)", kind, group)
                    return []
                found = []
                for namespace in sorted(written):
                    found += await self.api.list(res, labels=labels, namespace=namespace)
            for obj in found:  # the app owns objects of this kind: watch them for drift
                self.live.watch(res, ObjectRef.of(obj).namespace)
            return found

    def events(self) -> AsyncIterator[TargetEvent]:
        """Drift from the watches (see the module docstring); each call a new reader."""
        return self.live.feed.events()

    async def changed(self, refs: Collection[ObjectRef], timeout: float) -> None:
        """`ChangeFeed`: once one of `refs` changes in the watch cache, or `timeout`."""
        await self.live.changed(refs, timeout)

    async def aclose(self) -> None:
        """Stop the watches and close the connection (`conveyor.app` calls it when a
        command ends)."""
        await self.live.close()
        await self.api.close()

    async def _served(self, obj: Manifest, ref: ObjectRef) -> ApiResource:
        """The resource serving `obj`. A kind of a CRD this target just applied may take a
        moment to be served (the API server "establishes" it): discovery is read again
        for up to ESTABLISH_WAIT seconds before the kind counts as missing."""
        api_version = str(obj.get("apiVersion") or "")
        for _ in range(ESTABLISH_TRIES - 1):
            try:
                return await self.api.resource(api_version, ref.kind)
            except KubeUnknownKind:
                if ref.group not in self._crd_groups:
                    raise
                await asyncio.sleep(ESTABLISH_WAIT / ESTABLISH_TRIES)
        return await self.api.resource(api_version, ref.kind)

    async def _resource(self, ref: ObjectRef) -> ApiResource | None:
        """The resource of `ref`'s kind, or None when the cluster does not serve it."""
        try:
            return await self.api.for_group_kind(ref.group, ref.kind)
        except KubeUnknownKind:
            return None


@contextmanager
def _errors(ref: ObjectRef | None) -> Iterator[None]:
    try:
        yield
    except KubeError as exc:
        kind = TargetRejected if exc.permanent else TargetUnavailable
        raise kind(ref, str(exc)) from exc
