"""The CI service's notices (issue 17): a run that failed (`ci.endings.Endings.conclude`)
and a job waiting for its environment's review (`ci.gates.Gates`), as `core.notices`
values for the publisher in `Deps.notices`. Pure: builds values, publishes nothing.

A failed run is one event per run attempt; a waiting job is one per run, environment and
job (GitHub reviews each job: a later job of the run that deploys there asks again).
"""

from __future__ import annotations

from conveyor.ci.model import Run
from conveyor.core.notices import Notice, Subject, Trigger


def run_failed(run: Run, reason: str, *, base_url: str, now: float) -> Notice:
    return Notice(
        trigger=Trigger.RUN_FAILED,
        subject=Subject.RUN,
        name=run.workflow_name,
        once_per=f"run {run.id}",
        message=reason or "a job of the run failed",
        revision=run.sha,
        repo=run.repo,
        url=_url(base_url, run),
        time=now,
        facts=_facts(run),
    )


def approval_waiting(
    run: Run, *, job: str, environment: str, message: str, base_url: str, now: float
) -> Notice:
    return Notice(
        trigger=Trigger.APPROVAL_WAITING,
        subject=Subject.RUN,
        name=run.workflow_name,
        once_per=f"run {run.id} environment {environment} job {job}",
        message=message,
        revision=run.sha,
        repo=run.repo,
        url=_url(base_url, run),
        time=now,
        facts=(*_facts(run), ("environment", environment), ("job", job)),
    )


def _url(base_url: str, run: Run) -> str:
    return f"{base_url.rstrip('/')}/runs/{run.id}"


def _facts(run: Run) -> tuple[tuple[str, str], ...]:
    return (
        ("run", str(run.id)),
        ("attempt", str(run.attempt)),
        ("event", run.event),
        ("ref", run.ref),
    )
