"""The reconciler's side of notifications (issue 17): what a pass saw, as `core.notices`
values handed to the configured publisher. Held by `steps.Env` (`env.notices`) and called
by `reconcile.reconciler` at the moments things happen:

* `synced` after a sync: on-sync-failed (once per revision: auto-sync's retries of the
  same revision are not told again), on-drift-repaired (a self-heal sync that succeeded,
  once per operation);
* `drifted` when an app that was synced at its digest goes OutOfSync (once per drift);
* `assessed` after each pass: on-health-degraded (once per revision) and on-rollout-stuck
  (Progressing for longer than `stuck_after` seconds at one revision; once per rollout).

The app's `notifications.conveyor.dev/subscribe.*` annotations travel with each notice.
Publishing never blocks or raises (`core.notices.Publisher`); nothing here imports `notify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conveyor.core.notices import SUBSCRIBE_PREFIX, NoNotices, Notice, Publisher, Subject, Trigger
from conveyor.reconcile.model import HealthStatus, Outcome
from conveyor.reconcile.runtime import AppRuntime


@dataclass(slots=True)
class Notices:
    """Turns reconcile events into notices (see the module docstring)."""

    publisher: Publisher = field(default_factory=NoNotices)
    stuck_after: float = 600.0  # seconds Progressing before on-rollout-stuck
    progressing: dict[str, tuple[str, float]] = field(default_factory=dict, init=False)

    def synced(self, rt: AppRuntime, outcome: Outcome, *, self_heal: bool, now: float) -> None:
        if not outcome.ok:
            self._tell(rt, Trigger.SYNC_FAILED, rt.revision, outcome.message, now)
        elif self_heal:
            op = (rt.operation or {}).get("id", int(now))
            self._tell(rt, Trigger.DRIFT_REPAIRED, f"{rt.revision}:{op}", outcome.message, now)

    def drifted(self, rt: AppRuntime, now: float) -> None:
        message = "the live objects no longer match Git"
        self._tell(rt, Trigger.DRIFT_DETECTED, f"{rt.revision}:{now:.0f}", message, now)

    def assessed(self, rt: AppRuntime, now: float) -> None:
        if rt.health is None or rt.stopped is not None:
            return
        name, status = rt.app.name, rt.health.status
        if status == HealthStatus.DEGRADED:
            self._tell(rt, Trigger.HEALTH_DEGRADED, rt.revision, rt.health.message, now)
        if status != HealthStatus.PROGRESSING:
            self.progressing.pop(name, None)
            return
        revision, since = self.progressing.get(name, ("", 0.0))
        if revision != rt.revision:
            self.progressing[name] = (rt.revision, now)
            return
        if now - since >= self.stuck_after:
            message = f"Progressing for {now - since:.0f}s: {rt.health.message}".rstrip(": ")
            self._tell(rt, Trigger.ROLLOUT_STUCK, f"{rt.revision}:{since:.0f}", message, now)

    def _tell(
        self, rt: AppRuntime, trigger: Trigger, once_per: str, message: str, now: float
    ) -> None:
        app = rt.app
        self.publisher.publish(
            Notice(
                trigger=trigger,
                subject=Subject.APP,
                name=app.name,
                once_per=once_per,
                message=message,
                revision=rt.revision,
                repo=app.source.repo_url,
                url=f"/apps/{app.name}",
                time=now,
                facts=(("target", app.target), ("namespace", app.namespace)),
                subscriptions=tuple(
                    (k, v) for k, v in app.annotations if k.startswith(SUBSCRIBE_PREFIX)
                ),
            )
        )
