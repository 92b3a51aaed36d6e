"""Reconciler state read back from the store: interrupted operations and each app's runtime.

Owns `recover` (close the operations a killed process left Running and record them in
history as Interrupted), `load_runtime` (an app's `AppRuntime` rebuilt from its stored
inventory, pause flag, last finished operation and history) and `history` (the history
rows an app's status shows). Called by `reconcile.reconciler.Reconciler`: `recover` at
start-up, `load_runtime` when an app is new or its definition changed, `history` after
each sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from conveyor.reconcile import drift, operations
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.model import OperationState
from conveyor.reconcile.runtime import AppRuntime
from conveyor.store import HistoryRecord, Store
from conveyor.targets.base import ObjectRef

log = logging.getLogger(__name__)


def recover(store: Store, clock: Callable[[], float], app: str | None = None) -> None:
    """Close operations a killed process left Running (they count as not attempted); only
    `app`'s when given."""
    for op in store.interrupt_running(app):
        log.warning(
            "app %s: sync %d at %s was interrupted; it will be retried",
            op.app,
            op.id,
            op.revision[:12],
        )
        store.add_history(
            HistoryRecord(
                app=op.app,
                revision=op.revision,
                digest=op.digest,
                started=op.started,
                finished=clock(),
                result=str(OperationState.INTERRUPTED),
                initiated_by=op.initiated_by,
                reason=op.reason,
                source_path=op.source_path,
            )
        )


def mark_removed(store: Store, target: str, at: float) -> list[str]:
    """Record that everything the apps on `target` ran was removed from it (`conveyor
    down`), so that a reconciler started later deploys them again as a new desired state:
    not a drift to self-heal (which an app without `selfHeal` would leave alone, and which
    would be told as drift), and whatever its auto-sync memory held. The apps whose last
    status names `target`; called by `conveyor.app.cmd_down` while no reconciler runs."""
    names = sorted(a for a, s in store.all_statuses().items() if s.get("target") == target)
    for name in names:
        store.set_setting(_REMOVED.format(app=name), repr(at))
    return names


def removed_at(store: Store, app: str) -> float:
    """When `mark_removed` last recorded the app's workloads removed (0: never)."""
    value = store.setting(_REMOVED.format(app=app))
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


_REMOVED = "removed-from-target:{app}"


def load_runtime(store: Store, app: Application) -> AppRuntime:
    """`app`'s runtime as the store remembers it: inventory, pause, last operation, history.
    Its auto-sync memory (the digest last attempted) is forgotten when its workloads were
    removed (`mark_removed`) after that attempt."""
    rt = AppRuntime(app=app)
    rt.inventory = {ObjectRef.parse(key) for key in store.inventory(app.name)}
    rt.paused, rt.pause_reason = store.paused(app.name)
    done = (OperationState.SUCCEEDED, OperationState.FAILED)
    finished = [op for op in store.operations(app.name) if op.state in done]
    if finished:
        last = finished[-1]
        failed = last.state == OperationState.FAILED
        if (last.finished or last.started) >= removed_at(store, app.name):
            rt.attempts = drift.Attempts(digest=last.digest, failed=failed)
        good = [op for op in finished if op.state == OperationState.SUCCEEDED]
        rt.applied_revision = good[-1].revision if good else ""
        rt.operation = operations.view(last)
        rt.last_sync, rt.last_sync_digest = operations.outcome(last), last.digest
    rt.history = history(store, app.name)
    return rt


def history(store: Store, name: str) -> list[dict[str, Any]]:
    """The stored sync history of `name`, as the rows of its status."""
    return [
        {
            "id": h.id,
            "revision": h.revision,
            "digest": h.digest,
            "started": h.started,
            "finished": h.finished,
            "result": h.result,
            "initiatedBy": h.initiated_by,
            "reason": h.reason,
        }
        for h in store.history(name)
    ]
