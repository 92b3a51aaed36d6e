"""Notices: what `reconcile/` and `ci/` publish when something worth telling people happens
(issue 17), and the one small interface they publish through.

The reconciler (`reconcile.notices`) and the CI service (`ci.endings`, `ci.gates`) build a
frozen `Notice` at the point where the event happens and hand it to a `Publisher`; the
publisher (`conveyor.notify.Notifier`, chosen in `app/` and `server/`) routes, renders and
delivers it in the background. Neither publisher side imports `notify` (DESIGN.md: events
through a protocol in `core/`). `publish` must never block or raise: it is called inside
the reconcile loop and under the CI service's run lock, possibly from worker threads.

Application annotations subscribe one app, as Argo CD Notifications does
(`notifications.argoproj.io/subscribe.<trigger>.<service>: <recipients>`):
`notifications.conveyor.dev/subscribe.<trigger>.<destination>: <recipients>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Trigger(StrEnum):
    """When a notice is sent; the names follow Argo CD's catalog (`on-sync-failed` …)."""

    SYNC_FAILED = "on-sync-failed"
    HEALTH_DEGRADED = "on-health-degraded"
    DRIFT_DETECTED = "on-drift-detected"
    DRIFT_REPAIRED = "on-drift-repaired"
    ROLLOUT_STUCK = "on-rollout-stuck"
    RUN_FAILED = "on-run-failed"
    APPROVAL_WAITING = "on-approval-waiting"


class Subject(StrEnum):
    """What a notice is about: an application (reconciler) or a workflow run (CI)."""

    APP = "app"
    RUN = "run"


APP_TRIGGERS = frozenset(
    {
        Trigger.SYNC_FAILED,
        Trigger.HEALTH_DEGRADED,
        Trigger.DRIFT_DETECTED,
        Trigger.DRIFT_REPAIRED,
        Trigger.ROLLOUT_STUCK,
    }
)
RUN_TRIGGERS = frozenset({Trigger.RUN_FAILED, Trigger.APPROVAL_WAITING})

ANNOTATION_DOMAIN = "notifications.conveyor.dev"
SUBSCRIBE_PREFIX = f"{ANNOTATION_DOMAIN}/subscribe."


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One event. `once_per` is what makes it the same event again (Argo CD's `oncePer`):
    a notice whose trigger, subject and `once_per` were delivered to a destination before
    is not delivered there again, so a condition that persists is told once."""

    trigger: Trigger
    subject: Subject
    name: str  # the app's name, or the run's workflow name
    once_per: str  # e.g. the revision (app) or the run id and job (run)
    message: str
    revision: str = ""  # the commit the event is about ("" when none)
    repo: str = ""  # the app's source repository URL, or the run's owner/name
    url: str = ""  # where to look (a UI path or an absolute URL)
    time: float = 0.0
    facts: tuple[tuple[str, str], ...] = ()  # extra name/value pairs for templates
    subscriptions: tuple[tuple[str, str], ...] = field(default=())  # the app's annotations


class Publisher(Protocol):
    """Takes notices; never blocks and never raises (see the module docstring)."""

    def publish(self, notice: Notice) -> None: ...


class NoNotices:
    """The publisher when notifications are not configured: drops every notice."""

    def publish(self, notice: Notice) -> None:
        del notice


def parse_subscription(key: str) -> tuple[Trigger, str] | str:
    """`notifications.conveyor.dev/subscribe.<trigger>.<destination>` as (trigger,
    destination), or why the key is not one (a message for an error)."""
    if not key.startswith(SUBSCRIBE_PREFIX):
        return f"expected {SUBSCRIBE_PREFIX}<trigger>.<destination>"
    rest = key.removeprefix(SUBSCRIBE_PREFIX)
    trigger, dot, destination = rest.partition(".")
    if not dot or not destination:
        return f"expected {SUBSCRIBE_PREFIX}<trigger>.<destination>"
    if trigger not in {t.value for t in APP_TRIGGERS}:
        known = ", ".join(sorted(t.value for t in APP_TRIGGERS))
        return f"{trigger!r} is not an application trigger (known: {known})"
    return Trigger(trigger), destination
