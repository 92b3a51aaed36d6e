"""What the run page shows, read from the CI service in one go (issue 15).

`routes_runs` calls `load()` for the page and for its live part (the htmx poll): the run
row, its jobs and units, its workflow's jobs and needs (parsed once per commit and kept
in a small cache here), annotations, summaries and artifacts. Logs are never read
here: the job page (`/runs/{id}/jobs/{job}`) owns them, so a run of 256 matrix legs costs
three small queries.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.ci.errors import NotFound
from conveyor.ci.model import INVALID_WORKFLOW
from conveyor.ci.service import CIService
from conveyor.ci.triggers import load_run_workflow
from conveyor.core.errors import ConveyorError
from conveyor.server.ui import runnotes, runview
from conveyor.workflow.model import Job, Workflow

#: run states that mean "still going": the page polls its live part while one holds
LIVE = ("pending", "waiting", "queued", "in_progress")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPage:
    run: Mapping[str, Any]
    message: str  # the head commit's first line ("" when the event has none)
    live: bool
    invalid: bool  # the workflow file did not load: nothing ran, a re-run cannot help
    cancelling: str  # the cancel request's reason while `always()` jobs still run, else ""
    duration: float | None
    stages: tuple[runview.Stage, ...]
    graph_problem: str  # why needs are unknown ("" when the workflow was read)
    notes: tuple[runnotes.Note, ...]
    counts: Mapping[str, int]
    summaries: tuple[runnotes.Summary, ...]
    artifacts: tuple[Mapping[str, Any], ...]


def load(service: CIService, run_id: int) -> RunPage:
    """The run page's data; raises `NotFound` for an unknown run."""
    store = service.store
    run = store.run(run_id)
    if run is None:
        raise NotFound(f"there is no run {run_id}: it may have been deleted; see the runs list")
    rows, units = store.jobs(run_id), store.units(run_id=run_id)
    specs, problem = _specs(service, run)
    if run["reason"] == INVALID_WORKFLOW:
        problem = "No job ran: the workflow file is invalid (see the annotations); push a fix."
    now = time.time()
    live = run["status"] in LIVE
    found = runnotes.notes(run, rows)
    return RunPage(
        run=run,
        message=head_message(run.get("payload") or {}),
        live=live,
        invalid=run["reason"] == INVALID_WORKFLOW,
        cancelling=_cancelling(service, run_id) if live else "",
        duration=run_duration(run, now),
        stages=runview.graph(run_id, specs, rows, units, now=now, run_done=not live),
        graph_problem=problem,
        notes=found,
        counts=runnotes.counts(found),
        summaries=runnotes.summaries(rows),
        artifacts=tuple(service.artifacts(run_id)),
    )


def head_message(payload: Mapping[str, Any]) -> str:
    """The first line of the pushed head commit's message, or of a pull request's title."""
    commit = payload.get("head_commit") or {}
    text = commit.get("message") or (payload.get("pull_request") or {}).get("title") or ""
    return str(text).strip().split("\n", 1)[0]


def _cancelling(service: CIService, run_id: int) -> str:
    request = service.store.cancel_request(run_id)
    return str(request["reason"] or "cancel requested") if request else ""


def run_duration(run: Mapping[str, Any], now: float) -> float | None:
    """From start to end (to now while it runs); None before it started."""
    if not run.get("started"):
        return None
    end = run.get("finished") or (now if run["status"] in LIVE else None)
    return None if end is None else max(0.0, float(end) - float(run["started"]))


def _specs(service: CIService, run: Mapping[str, Any]) -> tuple[list[runview.JobSpec], str]:
    """The workflow's jobs and their needs, or none and why (an invalid workflow file)."""
    try:
        git_dir = service.parts.hosted.git_dir_of(str(run["repo"]))
        workflow = _workflow(git_dir, str(run["sha"]), str(run["workflow_path"]))
    except ConveyorError as exc:
        return [], f"the job graph shows no needs: the workflow could not be read ({exc})"
    return [_spec(job) for job in workflow.jobs], ""


@functools.lru_cache(maxsize=64)
def _workflow(git_dir: Path, sha: str, path: str) -> Workflow:
    """A commit's workflow never changes: parsed once per (repository, commit, file)."""
    return load_run_workflow(git_dir, sha, path)


def _spec(job: Job) -> runview.JobSpec:
    name = job.name if isinstance(job.name, str) and "${{" not in job.name else job.id
    strategy = job.strategy
    matrix = strategy is not None and (strategy.matrix is not None or strategy.template is not None)
    return runview.JobSpec(key=job.id, title=name, needs=tuple(job.needs), matrix=matrix)
