"""`summarize`: the one place that writes an application's status (DESIGN.md, Status).

Conditions, as Flux reports them, with Argo CD's sync/health vocabulary alongside:
* Ready — True when Synced and Healthy at the observed revision; otherwise False with the
  reason that blocks it (DependencyNotReady, FetchFailed, RenderFailed, SyncFailed,
  OutOfSync, Progressing, Degraded, Missing, AutoSyncPaused …);
* Reconciling — True while the app is moving towards its desired state (Progressing
  health, or a sync that is waiting to retry);
* Stalled — True when only a human can unblock it (render error, retries exhausted,
  dependency cycle), with the message saying what to do.
They are computed from reasons only: the `Outcome`s the steps returned (kept in the app's
`AppRuntime`), its sync and health statuses and the auto-sync decision's `Outlook`; the
messages are passed on for people, never searched (issue 13). Called by
`Reconciler.status`; returns a JSON-able dict that `store.Store.save_statuses` persists.
Pure.
"""

from __future__ import annotations

from typing import Any

from conveyor.reconcile.appmodel import Source
from conveyor.reconcile.drift import Outlook
from conveyor.reconcile.model import HealthStatus, Outcome, Reason, SyncStatus
from conveyor.reconcile.runtime import AppRuntime

_STALLING = {
    Reason.INVALID_SPEC,
    Reason.RENDER_FAILED,
    Reason.SOURCE_NOT_SUPPORTED,
    Reason.DEPENDENCY_CYCLE,
}


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}


def _failed_sync(rt: AppRuntime) -> Outcome | None:
    """The last sync's outcome when it failed at the desired state the app still has."""
    last = rt.last_sync
    digest = rt.desired.digest if rt.desired else ""
    if last is not None and last.reason == Reason.SYNC_FAILED and rt.last_sync_digest == digest:
        return last
    return None


def _why_not_ready(rt: AppRuntime) -> Outcome:
    """The first outcome, in order of what blocks most, that keeps the app from Ready."""
    health = rt.health.status if rt.health else HealthStatus.UNKNOWN
    if rt.blocked_on:
        blocked = "Blocked on " + ", ".join(rt.blocked_on)
        return Outcome(reason=Reason.DEPENDENCY_NOT_READY, message=blocked)
    if rt.stopped is not None:
        return rt.stopped
    if (failed := _failed_sync(rt)) is not None:
        return failed
    if rt.sync_status == SyncStatus.OUT_OF_SYNC:
        if rt.paused:
            return Outcome(reason=Reason.AUTO_SYNC_PAUSED, message=rt.pause_reason)
        return Outcome(reason=Reason.OUT_OF_SYNC, message=rt.decision)
    if health != HealthStatus.HEALTHY:
        message = rt.health.message if rt.health else ""
        return Outcome(reason=Reason(health), message=message or f"health is {health}")
    return Outcome(reason=Reason.UNKNOWN, message="not observed yet")


def conditions(rt: AppRuntime) -> list[dict[str, str]]:
    """Ready, Reconciling and Stalled, computed from the reasons of the app's outcomes and
    from the auto-sync decision's `Outlook`; messages are only passed on."""
    if rt.ready:
        message = f"Synced to {rt.revision[:12]}; all objects healthy"
        ready = _condition("Ready", True, Reason.SUCCEEDED, message)
        reason, message = Reason.SUCCEEDED, ""
    else:
        why = _why_not_ready(rt)
        reason, message = why.reason, why.message
        ready = _condition("Ready", False, reason, message)
    health = rt.health.status if rt.health else HealthStatus.UNKNOWN
    waiting_retry = rt.outlook == Outlook.WAITING
    reconciling = (
        not rt.ready
        and (health == HealthStatus.PROGRESSING or waiting_retry)
        and reason not in _STALLING
    )
    exhausted = reason == Reason.SYNC_FAILED and rt.outlook == Outlook.EXHAUSTED
    stalled = reason in _STALLING or exhausted
    return [
        ready,
        _condition(
            "Reconciling",
            reconciling,
            Reason.PROGRESSING if reconciling else "",
            message if reconciling else "",
        ),
        _condition("Stalled", stalled, reason if stalled else "", message if stalled else ""),
    ]


def summarize(rt: AppRuntime, *, history: list[dict[str, Any]]) -> dict[str, Any]:
    """The full status document of one app."""
    plan = rt.plan
    health = rt.health
    return {
        "name": rt.app.name,
        "kind": rt.app.origin,
        "project": rt.app.project,
        "info": [{"name": k, "value": v} for k, v in rt.app.info],
        "target": rt.app.target,
        "namespace": rt.app.namespace,
        "source": _source(rt.app.source),
        "sources": [_source(s) for s in rt.app.sources] if rt.app.multi_source else [],
        "revisions": list(rt.revisions) if rt.app.multi_source else [],
        "sync": {
            "status": str(rt.sync_status),
            "revision": rt.revision,
            "digest": rt.desired.digest if rt.desired else "",
            "outOfSync": [str(r) for r in (plan.out_of_sync if plan else ())],
        },
        "health": {
            "status": str(health.status) if health else str(HealthStatus.UNKNOWN),
            "message": health.message if health else "",
            "objects": [
                {"object": str(o.ref), "status": str(o.status), "message": o.message}
                for o in (health.objects if health else ())
            ],
        },
        "conditions": conditions(rt),
        "observedRevision": rt.revision,
        "appliedRevision": rt.applied_revision,
        "fetchError": rt.fetch_error,
        "autoSync": {
            "enabled": rt.app.sync_policy.automated,
            "paused": rt.paused,
            "reason": rt.pause_reason,
            "decision": rt.decision,
        },
        "dependsOn": list(rt.app.depends_on),
        "blockedOn": list(rt.blocked_on),
        "inventory": sorted(ref.key for ref in rt.inventory),
        "operation": rt.operation,
        "history": history,
    }


def _source(src: Source) -> dict[str, str]:
    shown = {"repoURL": src.repo_url, "path": src.path, "targetRevision": src.target_revision}
    return shown | {k: v for k, v in (("chart", src.chart), ("ref", src.ref)) if v}
