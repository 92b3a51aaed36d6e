"""Run state of one application, kept apart from its parsed (immutable) spec.

The reconciler's step functions fill an `AppRuntime` and return an `Outcome` each, which
the reconciler keeps here (`stopped`: why a pass stopped short; `last_sync`); `status.
summarize` is the only reader that turns it into the persisted status, from those
outcomes' reasons. Called by `reconcile.reconciler`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.diff import Normalizer
from conveyor.reconcile.drift import Attempts, Outlook
from conveyor.reconcile.model import (
    DesiredState,
    HealthReport,
    HealthStatus,
    Outcome,
    SyncPlan,
    SyncStatus,
)
from conveyor.targets.base import ObjectRef


@dataclass(slots=True)
class AppRuntime:
    app: Application
    revision: str = ""  # the primary source's commit
    revisions: tuple[str, ...] = ()  # one per source, in `app.sources` order
    desired: DesiredState | None = None
    desired_key: tuple[str, ...] = ()
    invalid: Outcome | None = None  # the app's document is not valid: nothing is done
    fetch_error: str = ""  # Git outage: running the last good revision
    stopped: Outcome | None = None  # why the last pass stopped short of comparing
    plan: SyncPlan | None = None
    sync_status: SyncStatus = SyncStatus.UNKNOWN
    health: HealthReport | None = None
    normalizer: Normalizer | None = None
    observed: object = None  # signature of the last comparison (see steps.observe)
    inventory: set[ObjectRef] = field(default_factory=set)
    attempts: Attempts = field(default_factory=Attempts)
    operation: dict[str, Any] | None = None
    last_sync: Outcome | None = None  # the last finished sync: Succeeded or SyncFailed
    last_sync_digest: str = ""  # the desired digest that sync applied
    applied_revision: str = ""
    decision: str = ""  # the last auto-sync decision's message, for people
    outlook: Outlook = Outlook.SETTLED  # what it means for status (`status.conditions`)
    blocked_on: tuple[str, ...] = ()
    drifted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    paused: bool = False
    pause_reason: str = ""

    @property
    def ready(self) -> bool:
        healthy = self.health is not None and self.health.status == HealthStatus.HEALTHY
        return self.sync_status == SyncStatus.SYNCED and healthy and self.stopped is None
