"""The seam between the reconciler and the places desired state runs: the `Target` Protocol.

Who calls what: `conveyor.reconcile.sync` calls `apply` and `delete` (hooks, waves,
prune), with the `ApplyOptions` and `Propagation` the app's sync options ask for;
`reconcile.steps` reads live state through `list_owned` and `get` (once per app per pass:
the diff, drift and health all work from that read); `reconcile.loop` consumes `events()`
to notice drift without waiting for the poll interval; `reconcile.diff` applies
`normalization` to ignore what the target itself writes into live objects.

Contract, in the words a new target author needs (Podman in issue 7, Kubernetes later):

* Objects are Kubernetes-shaped mappings (`apiVersion`, `kind`, `metadata`, `spec`, …),
  in and out. A target that is not Kubernetes translates internally, and answers `get`
  with the object as a Kubernetes API server would show it: the applied fields, plus the
  fields it populated (`metadata.uid`, `resourceVersion`, `generation`,
  `creationTimestamp`), defaulted fields, and a `status` its controllers maintain.
* Identity is `ObjectRef(group, kind, namespace, name)`. `apply` is idempotent and
  upserting: applying the same object twice yields one live object, never a duplicate,
  even when the first call was interrupted (the reconciler may be killed at any time
  and re-applies after restart).
* Ownership: the reconciler puts `OWNER_LABEL: <app name>` into every object's labels
  before `apply`; `list_owned(app)` returns the live objects carrying that label. The
  reconciler never prunes on that list alone (it prunes from its recorded inventory),
  but uses it to report strays.
* Failures of one object raise `TargetRejected` (permanent: invalid object, conflict) or
  `TargetUnavailable` (transient: the engine is down); the reconciler records either as
  that object's result and carries on with the others.
* `normalization` declares which live fields the target populates or defaults, so the
  diff ignores them and a freshly applied object compares equal to its manifest (the
  "noisy diff" complaint about Argo CD comes from missing rules of this kind).
* `events()` yields a `TargetEvent` whenever a live object changes outside `apply` /
  `delete` (someone edited or deleted it, a controller updated its status). Targets
  without a change feed return an iterator that never yields; the reconciler then relies
  on its interval.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from conveyor.core.errors import ConveyorError, TransientError

#: A Kubernetes-shaped object: the parsed YAML/JSON mapping of one manifest.
Manifest = dict[str, Any]

#: Label the reconciler stamps on every object it applies: the owning application's name.
OWNER_LABEL = "conveyor.dev/app"


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class ObjectRef:
    """Identity of one object on a target; `group` is "" for the core API group."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any], *, default_namespace: str = "") -> ObjectRef:
        """The reference of a manifest; `default_namespace` fills a missing namespace."""
        api_version = str(obj.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        meta = obj.get("metadata") or {}
        return cls(
            group=group,
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or default_namespace),
            name=str(meta.get("name", "")),
        )

    @classmethod
    def parse(cls, key: str) -> ObjectRef:
        """Inverse of `key`: `group/kind/namespace/name`."""
        group, kind, namespace, name = key.split("/", 3)
        return cls(group=group, kind=kind, namespace=namespace, name=name)

    @property
    def key(self) -> str:
        """A stable string form, used in stores and inventories."""
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{kind} {where}{self.name}"


class Propagation(StrEnum):
    """How dependents of a deleted object go (Kubernetes garbage collection; Argo CD's
    `PrunePropagationPolicy`, foreground by default)."""

    FOREGROUND = "foreground"  # dependents first, then the object
    BACKGROUND = "background"  # the object first, then its dependents
    ORPHAN = "orphan"  # the object only; dependents stay, their ownerReferences dropped


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    """How one `apply` writes the object (Argo CD's sync options for it, issue 14).

    `replace`: the live object becomes exactly `obj` (`kubectl replace`); fields others
    set disappear. Otherwise apply merges as `kubectl apply` does: fields this reconciler
    applied before and no longer wants go, fields others set stay. `server_side`:
    server-side apply where the target has it (Kubernetes), else the same as apply.
    `validate` False: the target's schema checks of unknown fields are skipped.
    `skip_dry_run`: the kind may be unknown to the target until it is applied.
    `force_conflicts`: with `server_side`, take over fields other field managers own
    (Argo CD's `ServerSideApply=true` with `Force=true`; `kubectl apply --force-conflicts`).
    """

    replace: bool = False
    server_side: bool = False
    validate: bool = True
    skip_dry_run: bool = False
    force_conflicts: bool = False


#: The options of a plain `kubectl apply`.
APPLY = ApplyOptions()


class EventKind(StrEnum):
    CHANGED = "changed"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetEvent:
    """A live object changed outside the reconciler's own apply/delete."""

    ref: ObjectRef
    kind: EventKind
    app: str | None  # the OWNER_LABEL value, when the object carries one


@dataclass(frozen=True, slots=True, kw_only=True)
class NormalizationRule:
    """Live fields a target populates or defaults, as JSON pointers, for matching kinds.

    `kind` "*" matches every kind; `group` None matches every group. A pointer names a
    field to drop from both sides of a diff (`/metadata/uid`) unless `default` is set:
    then the field is dropped only where it holds that default value (`/spec/replicas`
    defaulted to 1 is noise; a live 3 against a desired 1 is drift). A `*` segment
    matches every index of a list (`/spec/containers/*/terminationMessagePath`).
    """

    kind: str
    pointers: tuple[str, ...]
    group: str | None = None
    default: Any = None

    def matches(self, ref: ObjectRef) -> bool:
        kind_ok = self.kind in ("*", ref.kind)
        return kind_ok and (self.group is None or self.group == ref.group)


class TargetError(ConveyorError):
    """An operation on a target failed for one object."""

    def __init__(self, ref: ObjectRef | None, message: str) -> None:
        super().__init__(f"{ref}: {message}" if ref else message)
        self.ref = ref
        self.reason = message


class TargetRejected(TargetError):
    """Permanent: the target refused the object (invalid, immutable field, conflict)."""


class TargetUnavailable(TargetError, TransientError):
    """Transient: the target could not be reached; retry with backoff."""


@runtime_checkable
class Target(Protocol):
    """A place where objects run. See the module docstring for the full contract."""

    @property
    def name(self) -> str:
        """The target's name from Conveyor's config (`spec.destination.name`)."""
        ...

    @property
    def normalization(self) -> tuple[NormalizationRule, ...]:
        """Fields this target populates or defaults in live objects (diff ignores them)."""
        ...

    async def apply(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest:
        """Create or update `obj` (idempotent upsert) and return the live object."""
        ...

    async def delete(
        self, ref: ObjectRef, *, propagation: Propagation = Propagation.FOREGROUND
    ) -> bool:
        """Delete the object and, unless `propagation` is ORPHAN, the objects whose
        `metadata.ownerReferences` name it; False when it did not exist (not an error)."""
        ...

    async def get(self, ref: ObjectRef) -> Manifest | None:
        """The live object as an API server would show it, or None."""
        ...

    async def list_owned(self, app: str) -> list[Manifest]:
        """Live objects labelled `OWNER_LABEL: app`."""
        ...

    def events(self) -> AsyncIterator[TargetEvent]:
        """Out-of-band changes, as they happen; may never yield."""
        ...


@runtime_checkable
class ChangeFeed(Protocol):
    """Optional for a target: waiting for live objects to change, so that `reconcile.sync`
    waits for a wave's health (hook Jobs included) on events instead of polling `get`.
    The Kubernetes target answers it from its watches."""

    async def changed(self, refs: Collection[ObjectRef], timeout: float) -> None:
        """Return once one of `refs` changed, or after `timeout` seconds at most."""
        ...
