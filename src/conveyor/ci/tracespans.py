"""The CI side of a commit's delivery trace (issue 17): push, run, jobs and steps.

The trace is the source commit's (`core.tracing.commit_trace`); this module records, when a
run concludes (`Endings.conclude` calls `run_concluded`):

* `queued`: from the push the server received (`ci_push_deliveries.received`) to the run's
  creation;
* `run <workflow> #<n>`: from its creation to its conclusion, with an id every process
  derives from the run's id (`run_span`), so a runner parents its job to it;
* `review <environment>` (`review_decided`), under the run: a job's wait for its
  environment's reviewers, from the request to the decision;
* the root `commit <sha>`, from the push to the conclusion of the commit's last unfinished
  push run (a first attempt, not a re-run). The root and its two children tile: `queued`
  ends where the run starts, and the run ends where the root does.

A push to a hosted repository (`promotions_pushed`, called by `NewRuns.handle_push`) adds
`promotion <environment>` under a build's root for each commit in it that `conveyor
promote` wrote (its `Conveyor-Source-Commit` trailer names the build): the promotion
commit as the server received it, with the config revision the reconciler's deploy will
name. A webhook delivery (`ci.webhooks`) adds `webhook <event>` under the root, linked to the
sender's span when the request carried a W3C `traceparent` (honoured as a link: the trace
id stays the commit's, which the runners and the reconciler derive on their own). A run a
webhook started has no push time here: its root starts at the run's creation.

Runners get the run's span in the job payload (`assignment`: a W3C `traceparent`, present
only when tracing is on) and send the spans they recorded (the job, its steps, image
pushes) back with the job's result; `job_reported` (called by `RunnerApi.complete`) exports
those of the run's trace. Nothing here does any work when tracing is off.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conveyor.ci.ledger import Ledger
from conveyor.ci.model import UNFINISHED, Conclusion, Run
from conveyor.core import tracing
from conveyor.core.tracing import SpanRef, commit_trace, derived
from conveyor.promote import trailers
from conveyor.workflow.plan.event import Event

log = logging.getLogger(__name__)

MAX_JOB_SPANS = 2000  # a runner's report is bounded: a job with more steps loses the rest
MAX_PROMOTIONS = 100  # the commits of one push read for promotion trailers
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


def run_span(run: Run) -> SpanRef:
    return derived(commit_trace(run.sha), "run", str(run.id))


def assignment(run: Run) -> dict[str, str]:
    """The job payload's trace context: `{"traceparent": <the run's span>}`, or nothing."""
    if not tracing.enabled() or not run.sha:
        return {}
    return {"traceparent": run_span(run).traceparent()}


def job_reported(ledger: Ledger, run_id: int, result: Mapping[str, Any]) -> None:
    """Export the spans a runner recorded for a job of the run (`result["trace"]`); spans
    of another trace, or malformed ones, are dropped with a warning."""
    items = result.get("trace")
    if not tracing.enabled() or not isinstance(items, list):
        return
    run = ledger.run(run_id)
    trace_id = commit_trace(run.sha).trace_id
    dropped = 0
    for item in items[:MAX_JOB_SPANS]:
        try:
            span = tracing.from_json(item)
        except (KeyError, TypeError, ValueError):
            dropped += 1
            continue
        if span.ref.trace_id != trace_id:
            dropped += 1
            continue
        tracing.emit(span)
    if dropped or len(items) > MAX_JOB_SPANS:
        log.warning("run %d: %d span(s) of the runner's report dropped", run.id, dropped)


def run_concluded(
    ledger: Ledger,
    run: Run,
    conclusion: Conclusion,
    finished: float,
    pushed_at: Callable[[str, str], float | None],
) -> None:
    """Record the run's spans (and the commit's root, if this was its last run);
    `pushed_at(repo, sha)` is the store's time of the push."""
    if not tracing.enabled() or not run.sha:
        return
    pushed = pushed_at(run.repo, run.sha) if run.event == "push" else None
    root = commit_trace(run.sha)
    attributes: dict[str, str | int | float | bool] = {
        "vcs.repository.name": run.repo,
        "vcs.ref.head.revision": run.sha,
        "conveyor.run.id": run.id,
        "conveyor.workflow": run.workflow_name,
        "conveyor.run.conclusion": str(conclusion),
    }
    failed = "" if conclusion in (Conclusion.SUCCESS, Conclusion.SKIPPED) else str(conclusion)
    start = run.created if pushed is None else min(pushed, run.created)
    with tracing.inside(run_span(run)):
        if pushed is not None:
            queued = derived(root, "queued", str(run.id))
            tracing.record("queued", ref=queued, parent=root, start=start, end=run.created)
        name = f"run {run.workflow_name} #{run.run_number}"
        tracing.record(
            name, ref=run_span(run), parent=root, start=run.created, end=finished,
            attributes=attributes, error=failed,
        )  # fmt: skip
        if _last_of_commit(ledger, run):
            tracing.record(
                f"commit {run.sha[:12]}", ref=root, parent=None, start=start, end=finished,
                attributes={k: v for k, v in attributes.items() if k.startswith("vcs.")},
            )  # fmt: skip
        log.info("run %d: traced (%s)", run.id, name)


def review_decided(
    run: Run, environment: str, *, requested: float, decided: float, state: str
) -> None:
    """`review <environment>` under the run's span, from the request for a review to its
    decision: the time a job waited for its environment's reviewers (no runner holds it,
    so no job span covers that wait). Called by `Settings.decide`."""
    if not tracing.enabled() or not run.sha:
        return
    tracing.record(
        f"review {environment}",
        ref=derived(commit_trace(run.sha), "review", str(run.id), environment),
        parent=run_span(run),
        start=requested,
        end=max(requested, decided),
        attributes={"conveyor.environment": environment, "conveyor.review.state": state},
        error="" if state == "approved" else f"review {state}",
    )


def webhook_received(
    event: Event, runs: Sequence[int], *, started: float, traceparent: str
) -> None:
    """A webhook delivery that started runs: `webhook <event>` under the commit's root,
    from the request to its runs, linked to the sender's span when the request carried a
    W3C `traceparent` (the trace stays the commit's, which every process can derive)."""
    if not tracing.enabled() or not event.sha or not runs:
        return
    root = commit_trace(event.sha)
    caller = tracing.parse_traceparent(traceparent)
    tracing.record(
        f"webhook {event.name}", ref=derived(root, "webhook", *map(str, runs)), parent=root,
        start=started, end=time.time(), links=(caller,) if caller is not None else (),
        attributes={"vcs.repository.name": event.repository, "conveyor.run.ids": str(runs)},
    )  # fmt: skip


def promotions_pushed(repo: str, commits: Sequence[tuple[str, str]], *, received: float) -> None:
    """`promotion <environment>` under the commit's root for each pushed commit (sha,
    message) that `conveyor promote` wrote (its `Conveyor-Source-Commit` trailer names the
    build): from the push's receipt to now, when the reconciler has just been told. Its
    `conveyor.revision` is the config commit, the one the reconciler's `deploy <app>` spans
    name, so the hand-over from CI to the reconciler is one named point in the trace.
    Called by `NewRuns.handle_push` for pushes to hosted repositories."""
    if not tracing.enabled():
        return
    now = time.time()
    for sha, message in commits[:MAX_PROMOTIONS]:
        sources = trailers.values(message, trailers.SOURCE_COMMIT)
        if not sources or not _SHA.match(sources[-1]):
            continue
        environment = " ".join(trailers.values(message, trailers.ENVIRONMENT)) or "?"
        root = commit_trace(sources[-1])
        tracing.record(
            f"promotion {environment}",
            ref=derived(root, "promotion", repo, sha),
            parent=root,
            start=min(received, now),
            end=now,
            attributes={
                "vcs.repository.name": repo,
                "conveyor.revision": sha,
                "conveyor.environment": environment,
                "container.image.name": " ".join(trailers.values(message, trailers.IMAGE)),
            },
        )


def _last_of_commit(ledger: Ledger, run: Run) -> bool:
    """Whether `run` is a first push run and no other run of its commit is unfinished."""
    if run.event != "push" or run.rerun_of is not None:
        return False
    running = ledger.runs(status=UNFINISHED, repo=run.repo)
    return not any(r.sha == run.sha and r.id != run.id for r in running)
