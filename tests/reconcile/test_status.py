"""Table tests for `status.conditions`: Ready, Reconciling and Stalled follow the reasons of
the app's outcomes and the auto-sync decision's outlook, never the words of a message
(issue 13: status once searched a message for "retry")."""

from __future__ import annotations

import pytest
import yaml

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.drift import Outlook
from conveyor.reconcile.model import (
    DesiredState,
    HealthReport,
    HealthStatus,
    Outcome,
    Reason,
    SyncStatus,
)
from conveyor.reconcile.runtime import AppRuntime
from conveyor.reconcile.status import conditions

WORDS = "retry backing off exhausted Blocked on"  # a message that names every old keyword
APP = yaml.safe_dump(
    {
        "apiVersion": "conveyor.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {
            "source": {"repoURL": "file:///repo", "path": "app", "targetRevision": "main"},
            "destination": {"name": "memory", "namespace": "prod"},
        },
    }
)


def runtime(
    *,
    stopped: Reason | None = None,
    last_sync: Reason | None = None,
    sync_digest: str = "d",
    sync: SyncStatus = SyncStatus.SYNCED,
    health: HealthStatus = HealthStatus.HEALTHY,
    outlook: Outlook = Outlook.SETTLED,
) -> AppRuntime:
    rt = AppRuntime(app=parse_applications(APP, "apps.yaml")[0], revision="abc")
    rt.desired = DesiredState(app="web", revision="abc", manifests=(), digest="d")
    rt.stopped = None if stopped is None else Outcome(reason=stopped, message=WORDS)
    if last_sync is not None:
        rt.last_sync = Outcome(reason=last_sync, message=WORDS)
        rt.last_sync_digest = sync_digest
    rt.sync_status, rt.health = sync, HealthReport(status=health)
    rt.decision, rt.outlook = WORDS, outlook
    return rt


CASES = {
    "ready": (runtime(), ("True", "Succeeded"), False, False),
    "render failed stalls": (
        runtime(stopped=Reason.RENDER_FAILED),
        ("False", "RenderFailed"),
        False,
        True,
    ),
    "fetch failed neither moves nor stalls": (
        runtime(stopped=Reason.FETCH_FAILED),
        ("False", "FetchFailed"),
        False,
        False,
    ),
    "sync failed, retry waiting": (
        runtime(last_sync=Reason.SYNC_FAILED, sync=SyncStatus.OUT_OF_SYNC, outlook=Outlook.WAITING),
        ("False", "SyncFailed"),
        True,
        False,
    ),
    "sync failed, retries exhausted": (
        runtime(
            last_sync=Reason.SYNC_FAILED, sync=SyncStatus.OUT_OF_SYNC, outlook=Outlook.EXHAUSTED
        ),
        ("False", "SyncFailed"),
        False,
        True,
    ),
    "sync failed at an older desired state": (
        runtime(last_sync=Reason.SYNC_FAILED, sync_digest="old", sync=SyncStatus.OUT_OF_SYNC),
        ("False", "OutOfSync"),
        False,
        False,
    ),
    "a successful sync, still progressing": (
        runtime(last_sync=Reason.SUCCEEDED, health=HealthStatus.PROGRESSING),
        ("False", "Progressing"),
        True,
        False,
    ),
}


@pytest.mark.parametrize(("rt", "ready", "reconciling", "stalled"), CASES.values(), ids=CASES)
def test_conditions_follow_reasons_not_words(
    rt: AppRuntime, ready: tuple[str, str], reconciling: bool, stalled: bool
) -> None:
    got = {c["type"]: c for c in conditions(rt)}
    assert (got["Ready"]["status"], got["Ready"]["reason"]) == ready
    assert got["Reconciling"]["status"] == str(reconciling)
    assert got["Stalled"]["status"] == str(stalled)
