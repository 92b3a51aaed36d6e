"""Drift and auto-sync decisions: when to sync, retry, self-heal, or only report. Pure.

Argo CD's rules, with its users' complaints in mind:
* auto-sync acts once per desired digest ("new revision"): an OutOfSync app whose digest
  was already synced successfully has drifted; with `selfHeal` it is re-applied with
  exponential backoff (first attempt at once, then 2 s, 6 s, 18 s … capped at 300 s,
  reset once the app is Synced again); without it, the drift is reported, never fixed;
* a failed sync is retried `retry.limit` times (for ever when it is -1) with the app's
  backoff (`duration * factor^n`, capped at `maxDuration`), then the app is Stalled;
* a paused app (after `rollback`) never auto-syncs until a manual sync resumes it.
Called by `reconcile.reconciler`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conveyor.reconcile.appmodel import Retry, SyncPolicy

SELF_HEAL_BASE = 2.0
SELF_HEAL_FACTOR = 3.0
SELF_HEAL_CAP = 300.0


class Action(StrEnum):
    NONE = "none"
    SYNC = "sync"
    RETRY = "retry"
    SELF_HEAL = "self-heal"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempts:
    """What the reconciler remembers about earlier automatic syncs of one app."""

    digest: str = ""  # desired digest of the last finished attempt
    failed: bool = False
    retries: int = 0
    heals: int = 0
    not_before: float = 0.0


class Outlook(StrEnum):
    """What a decision means for the app's status; `status` reads this, never the words of
    the decision's message (issue 13: a message is for people, not a flag for code)."""

    SETTLED = "settled"  # nothing more happens on its own until Git or the live state moves
    WAITING = "waiting"  # a retry runs now or after its backoff: the app is Reconciling
    EXHAUSTED = "exhausted"  # a failed sync used its retries: the app is Stalled


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The decide step's outcome: the `Action`, its `Outlook` for status, and a message for
    people (also the reason recorded on the sync operation it starts, as Argo CD does)."""

    action: Action
    message: str
    outlook: Outlook = Outlook.SETTLED


def self_heal_delay(heals: int) -> float:
    """Delay before self-heal attempt number `heals + 1` (the first is immediate)."""
    if heals <= 0:
        return 0.0
    return min(SELF_HEAL_BASE * SELF_HEAL_FACTOR ** (heals - 1), SELF_HEAL_CAP)


def retries_left(retry: Retry, retries: int) -> bool:
    """Whether a sync that failed after `retries` retries is retried; `limit: -1` (any
    negative limit) retries for ever, as Argo CD, with the same capped backoff."""
    return retry.limit < 0 or retries < retry.limit


def retry_delay(retry: Retry, retries: int) -> float:
    return min(retry.duration * retry.factor ** max(retries - 1, 0), retry.max_duration)


def decide(
    *,
    policy: SyncPolicy,
    paused: bool,
    out_of_sync: bool,
    digest: str,
    attempts: Attempts,
    now: float,
) -> Decision:
    if not out_of_sync:
        return Decision(action=Action.NONE, message="in sync")
    if not policy.automated:
        return Decision(action=Action.NONE, message="OutOfSync; automated sync is off")
    if paused:
        return Decision(action=Action.NONE, message="OutOfSync; auto-sync is paused")
    if digest != attempts.digest:
        return Decision(action=Action.SYNC, message="new desired state")
    if now < attempts.not_before:
        return Decision(
            action=Action.NONE,
            message=f"backing off until {attempts.not_before:.0f}",
            outlook=Outlook.WAITING,
        )
    if attempts.failed:
        if retries_left(policy.retry, attempts.retries):
            limit = policy.retry.limit
            return Decision(
                action=Action.RETRY,
                message=f"retry {attempts.retries + 1} of {limit if limit >= 0 else 'unlimited'}",
                outlook=Outlook.WAITING,
            )
        return Decision(
            action=Action.NONE, message="sync failed; retries exhausted", outlook=Outlook.EXHAUSTED
        )
    if policy.self_heal:
        return Decision(action=Action.SELF_HEAL, message="live state drifted; self-healing")
    return Decision(action=Action.NONE, message="live state drifted; selfHeal is off")


def after_attempt(
    attempts: Attempts, decision: Action, *, digest: str, ok: bool, retry: Retry, now: float
) -> Attempts:
    """The memory after one automatic sync attempt."""
    retries = attempts.retries + 1 if decision == Action.RETRY else 0
    heals = attempts.heals + 1 if decision == Action.SELF_HEAL else attempts.heals
    if not ok:
        # no retry left ⇒ nothing to wait for: the app is stalled now, not "backing off"
        delay = retry_delay(retry, retries + 1) if retries_left(retry, retries) else 0.0
    elif decision == Action.SELF_HEAL:
        delay = self_heal_delay(heals)
    else:
        delay = 0.0
    return Attempts(
        digest=digest, failed=not ok, retries=retries, heals=heals, not_before=now + delay
    )


def settled(attempts: Attempts) -> Attempts:
    """The app is in sync again: self-heal backoff starts over."""
    if not attempts.heals and not attempts.not_before:
        return attempts
    return Attempts(digest=attempts.digest, failed=attempts.failed, retries=attempts.retries)
