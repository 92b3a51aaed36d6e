"""The frozen values handed along the reconcile flow (DESIGN.md, "The flow"):

`DesiredState{revision, manifests} → SyncPlan{pairs, waves, prune} → [ResourceResult]
→ HealthReport → HistoryEntry`.

Each step module produces one of these and the next consumes it; nothing mutates them.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conveyor.targets.base import Manifest, ObjectRef


class SyncStatus(StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatus(StrEnum):
    """Argo CD's health vocabulary; the order below is "worst first" for aggregation."""

    DEGRADED = "Degraded"
    MISSING = "Missing"
    UNKNOWN = "Unknown"
    PROGRESSING = "Progressing"
    SUSPENDED = "Suspended"
    HEALTHY = "Healthy"


class Reason(StrEnum):
    """The reason of an app's Ready condition (and of Stalled / Reconciling when set).

    Health statuses double as reasons (Degraded, Progressing, …) so the values match.
    """

    SUCCEEDED = "Succeeded"
    INVALID_SPEC = "InvalidSpec"  # the Application document is not valid (not synced)
    FETCH_FAILED = "FetchFailed"
    RENDER_FAILED = "RenderFailed"
    SOURCE_NOT_SUPPORTED = "SourceNotSupported"  # renders nothing over another tool's files
    TARGET_UNAVAILABLE = "TargetUnavailable"
    RECONCILE_FAILED = "ReconcileFailed"
    DEPENDENCY_CYCLE = "DependencyCycle"
    DEPENDENCY_NOT_READY = "DependencyNotReady"
    CHILD_APPS_INVALID = "ChildAppsInvalid"  # app of apps: a rendered Application is wrong
    SYNC_FAILED = "SyncFailed"
    OUT_OF_SYNC = "OutOfSync"
    AUTO_SYNC_PAUSED = "AutoSyncPaused"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    MISSING = "Missing"
    SUSPENDED = "Suspended"
    UNKNOWN = "Unknown"
    SHARED_RESOURCE = "SharedResource"  # the reason of a SharedResourceWarning condition
    # an app removed from the apps directory (`reconcile.deletion`)
    DELETING = "Deleting"  # its objects are being deleted, or its PostDelete hooks run
    DELETED = "Deleted"  # done: what it deployed is gone (but for objects it had to keep)
    RESOURCES_LEFT = "ResourcesLeft"  # no deletion finalizer: its objects were left


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one reconcile step concluded: a `Reason` for code and a message for people.

    The steps return one (`steps.fetch`, `steps.render`, `steps.run_sync`), the reconciler
    keeps them in the app's `AppRuntime`, and `status.summarize` computes the conditions
    from their reasons, never from their words (issue 13).
    """

    reason: Reason
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == Reason.SUCCEEDED


SUCCESS = Outcome(reason=Reason.SUCCEEDED)


class OperationState(StrEnum):
    """A sync operation's state in the store, and the result of its history entry."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    INTERRUPTED = "Interrupted"  # left Running by a killed process (`restore.recover`)


class Phase(StrEnum):
    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    PRE_DELETE = "PreDelete"  # run when the app is deleted, never by a sync (`deletion`)
    POST_DELETE = "PostDelete"  # likewise, once its objects are gone


class ResultCode(StrEnum):
    """Per-object outcome of one sync (gitops-engine's result codes, plus Unchanged)."""

    SYNCED = "Synced"
    UNCHANGED = "Unchanged"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"
    SKIPPED = "Skipped"  # not attempted: an earlier wave failed


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredState:
    """What Git says, for one app at one revision: the rendered manifests and their digest."""

    app: str
    revision: str
    manifests: tuple[Manifest, ...]
    digest: str
    path: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """One object on both sides; `desired` None ⇒ prune candidate, `live` None ⇒ create."""

    ref: ObjectRef
    desired: Manifest | None
    live: Manifest | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One object to apply (or prune) in one wave of one phase; hooks run to completion."""

    ref: ObjectRef
    obj: Manifest
    phase: Phase
    wave: int
    hook: bool
    delete_policies: tuple[str, ...] = ()
    generate_name: str = ""  # a hook named per sync from metadata.generateName (hooknames)
    prune: bool = False  # delete `ref` in this wave (`obj` is then the live object)


@dataclass(frozen=True, slots=True, kw_only=True)
class Wave:
    phase: Phase
    wave: int
    steps: tuple[Step, ...]


class PruneSkip(StrEnum):
    """Why a prune candidate is kept; the value is the message of its PruneSkipped result
    (code compares the member: `plan` once matched the words "annotated Prune=false")."""

    EMPTY_RENDER = "empty render"
    ANNOTATED = "annotated Prune=false"
    CONFIRM = "annotated Prune=confirm: delete it by hand, or set Prune=true"
    DISABLED = "pruning is disabled for this app"
    NOT_REQUESTED = "prune not requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneDecision:
    """Prune candidates split into what will be deleted and what is kept, with why."""

    delete: tuple[ObjectRef, ...] = ()
    skipped: tuple[tuple[ObjectRef, PruneSkip], ...] = ()
    refused: str | None = None  # the whole prune refused (empty render without allowEmpty)


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncPlan:
    app: str
    revision: str
    digest: str
    pairs: tuple[Pair, ...]
    waves: tuple[Wave, ...]
    prune: PruneDecision
    out_of_sync: tuple[ObjectRef, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceResult:
    ref: ObjectRef
    code: ResultCode
    message: str = ""
    phase: Phase = Phase.SYNC
    wave: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref.key,
            "object": str(self.ref),
            "code": str(self.code),
            "message": self.message,
            "phase": str(self.phase),
            "wave": self.wave,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectHealth:
    ref: ObjectRef
    status: HealthStatus
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    status: HealthStatus
    objects: tuple[ObjectHealth, ...] = field(default=())

    @property
    def message(self) -> str:
        worst = [o for o in self.objects if o.status == self.status and o.message]
        return f"{worst[0].ref}: {worst[0].message}" if worst else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    id: int
    revision: str
    digest: str
    started: float
    finished: float
    result: str
    initiated_by: str
    reason: str
    source_path: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "revision": self.revision,
            "digest": self.digest,
            "started": self.started,
            "finished": self.finished,
            "result": self.result,
            "initiatedBy": self.initiated_by,
            "reason": self.reason,
        }
