"""Kubernetes Leases (coordination.k8s.io/v1): acquire, renew, release, list.

A `LeaseLock` holds one named Lease for one identity, as client-go's leader election does,
with the API server's optimistic concurrency on `metadata.resourceVersion`:

* missing → create it (holder = us); a 409 AlreadyExists means another process created it
  first: re-read and decide again;
* held by us → renew: a JSON merge patch of `spec.renewTime` that carries the
  resourceVersion last read, which the API server treats as a precondition (a 409
  Conflict when the object changed since; then re-read and decide again);
* held by another identity → taken over only once `renewTime + leaseDurationSeconds` has
  passed (or the holder is empty): the same conditional patch sets holder, acquireTime,
  renewTime and leaseTransitions + 1, so of two processes racing for it exactly one wins;
* release on clean shutdown → delete the Lease (a member that left is gone at once, not
  after a lease duration);
* `delete_stale` removes another holder's Lease long expired (a replica that died never
  deletes its own) with DeleteOptions `preconditions.resourceVersion` set to the version
  read, so a Lease renewed since is refused (409 Conflict) and kept.

Patches rather than PUT: a merge patch with a resourceVersion is as conditional as an update
and needs no full object. `list_leases` reads the Leases carrying a label (the members of a
group); the label is also checked here, not only sent as a `labelSelector`.

Called by `reconcile.membership`; the client is a `lightkube.AsyncClient` made by the caller.
Errors: `LeaseHeld` (another live holder), `LeaseConflict` (lost a race twice in a row),
`LeaseUnavailable` (the API server did not answer as expected).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.config.client_adapter import AsyncClient as adapter_client
from lightkube.config.client_adapter import ConnectionParams
from lightkube.resources.coordination_v1 import Lease
from lightkube.types import PatchType

from conveyor.core.errors import ConveyorError, TransientError

Clock = Callable[[], dt.datetime]
KubeClient = AsyncClient  # the client callers hand in (lightkube's, made by them)
RETRIES = 2  # a conflict re-reads and decides again, once


class LeaseUnavailable(TransientError):
    """The API server answered a Lease request with an unexpected status or not at all."""


class LeaseHeld(ConveyorError):
    """The Lease is held by another identity whose term has not run out."""


class LeaseConflict(ConveyorError):
    """The Lease changed under us on every try (409 each time); the next round re-reads."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def micro_time(when: dt.datetime) -> str:
    """A MicroTime as the API server writes it: RFC 3339, UTC, microseconds."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseRecord:
    """One Lease as read: who holds it, since and until when, at which resourceVersion."""

    name: str
    holder: str
    duration: int
    acquired: dt.datetime | None
    renewed: dt.datetime | None
    transitions: int
    version: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def expires(self) -> dt.datetime | None:
        """`renewTime + leaseDurationSeconds` (None when never renewed)."""
        if self.renewed is None:
            return None
        return self.renewed + dt.timedelta(seconds=self.duration)

    def free(self, now: dt.datetime) -> bool:
        """Nobody holds it, or its holder's term ran out."""
        expires = self.expires()
        return not self.holder or expires is None or expires <= now


def record(lease: Lease) -> LeaseRecord:
    meta, spec = lease.metadata, lease.spec
    assert meta is not None and meta.name is not None
    return LeaseRecord(
        name=meta.name,
        holder=(spec.holderIdentity if spec else None) or "",
        duration=(spec.leaseDurationSeconds if spec else None) or 0,
        acquired=_aware(spec.acquireTime if spec else None),
        renewed=_aware(spec.renewTime if spec else None),
        transitions=(spec.leaseTransitions if spec else None) or 0,
        version=meta.resourceVersion,
        labels=dict(meta.labels or {}),
        annotations=dict(meta.annotations or {}),
    )


def _aware(when: dt.datetime | None) -> dt.datetime | None:
    return when.replace(tzinfo=dt.UTC) if when is not None and when.tzinfo is None else when


def status_code(exc: Exception) -> int | None:
    """The HTTP status of a failed request. lightkube raises `ApiError` when the error body
    is `application/json` (what the API server sends) and httpx's error otherwise."""
    if isinstance(exc, ApiError):
        return exc.status.code
    if isinstance(exc, httpx2.HTTPStatusError):
        return exc.response.status_code
    return None


async def list_leases(
    client: AsyncClient, namespace: str, labels: Mapping[str, str]
) -> list[LeaseRecord]:
    """The Leases in `namespace` that carry all of `labels`."""
    try:
        found = [
            record(lease)
            async for lease in client.list(Lease, namespace=namespace, labels=dict(labels))
        ]
    except (ApiError, httpx2.HTTPError) as exc:
        raise LeaseUnavailable(f"listing Leases in {namespace}: {exc}") from exc
    return [r for r in found if all(r.labels.get(k) == v for k, v in labels.items())]


async def delete_stale(client: AsyncClient, namespace: str, lease: LeaseRecord) -> bool:
    """Delete `lease` only if it is still at the resourceVersion read (DeleteOptions
    preconditions; lightkube's `delete` sends none, so the request is made on an httpx
    client with the same configuration). True when deleted; False when it changed since
    (409: renewed or taken, kept) or is already gone (404: another member deleted it)."""
    body = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "preconditions": {"resourceVersion": lease.version},
    }
    path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{lease.name}"
    try:
        async with adapter_client(client.config, ConnectionParams()) as http:
            reply = await http.request("DELETE", path, json=body)
    except httpx2.HTTPError as exc:
        raise LeaseUnavailable(f"deleting stale Lease {lease.name}: {exc}") from exc
    if reply.status_code in (404, 409):
        return False
    if not reply.is_success:
        raise LeaseUnavailable(
            f"deleting stale Lease {lease.name}: HTTP {reply.status_code} {reply.text[:200]}"
        )
    return True


class LeaseLock:
    """One Lease held by one identity: `hold()` acquires or renews it, `release()` drops it."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        namespace: str,
        name: str,
        identity: str,
        duration: int,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        now: Clock = utcnow,
    ) -> None:
        if duration < 1:
            raise ValueError(f"lease duration must be at least 1 second, not {duration}")
        self.client, self.namespace, self.name = client, namespace, name
        self.identity, self.duration = identity, duration
        self.labels = dict(labels or {})
        self.annotations = dict(annotations or {})  # e.g. where this holder answers
        self.now = now
        self.last: LeaseRecord | None = None  # what the last request read or wrote

    async def hold(self) -> LeaseRecord:
        """Acquire the Lease or renew it; raises `LeaseHeld` while another identity holds
        it, `LeaseConflict` when it changed under us on each try."""
        for _ in range(RETRIES):
            current = self.last if self._mine(self.last) else await self._read()
            try:
                if current is None:
                    self.last = await self._create()
                elif self._mine(current):
                    self.last = await self._patch(current, {"renewTime": micro_time(self.now())})
                elif current.free(self.now()):
                    self.last = await self._take(current)
                else:
                    self.last = current
                    raise LeaseHeld(f"Lease {self.name} is held by {current.holder}")
                return self.last
            except _Conflict:
                self.last = None  # re-read on the next try
            except LeaseUnavailable:
                self.last = None  # e.g. deleted by hand: the next call re-reads, re-creates
                raise
        raise LeaseConflict(f"Lease {self.name} changed under us {RETRIES} times; retrying later")

    async def release(self) -> None:
        """Delete the Lease if we hold it (clean shutdown); a Lease already gone is fine."""
        current = await self._read()
        if current is None or not self._mine(current):
            return
        try:
            await self.client.delete(Lease, self.name, namespace=self.namespace)
        except (ApiError, httpx2.HTTPStatusError) as exc:
            if status_code(exc) != 404:
                raise LeaseUnavailable(f"releasing Lease {self.name}: {exc}") from exc
        self.last = None

    def _mine(self, current: LeaseRecord | None) -> bool:
        return current is not None and current.holder == self.identity

    async def _read(self) -> LeaseRecord | None:
        try:
            return record(await self.client.get(Lease, self.name, namespace=self.namespace))
        except (ApiError, httpx2.HTTPStatusError) as exc:
            if status_code(exc) == 404:
                return None
            raise LeaseUnavailable(f"reading Lease {self.name}: {exc}") from exc
        except httpx2.HTTPError as exc:
            raise LeaseUnavailable(f"reading Lease {self.name}: {exc}") from exc

    async def _create(self) -> LeaseRecord:
        now = micro_time(self.now())
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": self.labels,
                "annotations": self.annotations,
            },
            "spec": self._term(now, transitions=0),
        }
        return await self._call(self.client.create(Lease.from_dict(body)))

    async def _take(self, current: LeaseRecord) -> LeaseRecord:
        """A new term; the annotations are ours from now on (a previous holder's are stale)."""
        spec = self._term(micro_time(self.now()), transitions=current.transitions + 1)
        return await self._patch(current, spec, annotations=self.annotations)

    def _term(self, now: str, *, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def _patch(
        self,
        current: LeaseRecord,
        spec: dict[str, Any],
        annotations: Mapping[str, str] | None = None,
    ) -> LeaseRecord:
        """A merge patch made conditional by the resourceVersion we read."""
        meta: dict[str, Any] = {"resourceVersion": current.version}
        if annotations:
            meta["annotations"] = dict(annotations)
        body = {"metadata": meta, "spec": spec}
        return await self._call(
            self.client.patch(
                Lease, self.name, body, namespace=self.namespace, patch_type=PatchType.MERGE
            )
        )

    async def _call(self, request: Any) -> LeaseRecord:
        try:
            return record(await request)
        except (ApiError, httpx2.HTTPStatusError) as exc:
            if status_code(exc) == 409:
                raise _Conflict from exc
            raise LeaseUnavailable(f"Lease {self.name}: {exc}") from exc
        except httpx2.HTTPError as exc:
            raise LeaseUnavailable(f"Lease {self.name}: {exc}") from exc


class _Conflict(Exception):
    """409 from a create or a conditional patch: someone else wrote first."""
