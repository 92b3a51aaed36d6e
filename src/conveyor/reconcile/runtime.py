"""Run state of one application, kept apart from its parsed (immutable) spec.

The reconciler's step functions fill an `AppRuntime`; `status.summarize` is the only
reader that turns it into the persisted status. Called by `reconcile.reconciler`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.reconcile.applications import Application
from conveyor.reconcile.diff import Normalizer
from conveyor.reconcile.drift import Attempts, Outlook
from conveyor.reconcile.model import DesiredState, HealthReport, Reason, SyncPlan, SyncStatus
from conveyor.targets.base import ObjectRef


@dataclass(slots=True)
class AppRuntime:
    app: Application
    revision: str = ""
    desired: DesiredState | None = None
    desired_key: tuple[str, ...] = ()
    fetch_error: str = ""  # Git outage: running the last good revision
    error_reason: Reason | None = None  # set with `error`: why the pass stopped short
    error: str = ""
    plan: SyncPlan | None = None
    sync_status: SyncStatus = SyncStatus.UNKNOWN
    health: HealthReport | None = None
    normalizer: Normalizer | None = None
    observed: object = None  # signature of the last comparison (see steps.observe)
    inventory: set[ObjectRef] = field(default_factory=set)
    attempts: Attempts = field(default_factory=Attempts)
    operation: dict[str, Any] | None = None
    applied_revision: str = ""
    decision: str = ""  # the last auto-sync decision's reason, for people
    outlook: Outlook = Outlook.SETTLED  # what it means for status (`status.conditions`)
    blocked_on: tuple[str, ...] = ()
    drifted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    paused: bool = False
    pause_reason: str = ""

    @property
    def ready(self) -> bool:
        healthy = self.health is not None and self.health.status == "Healthy"
        return self.sync_status == SyncStatus.SYNCED and healthy and not self.error
