"""The store's edge: runs, units, job rows and cancel requests read as frozen values.

`Ledger` is handed to every part of the CI service (built once by `ci.wiring`); it reads
`conveyor.store.ci_store` rows (plain dicts) and returns `ci.model` values. Writes go to the
store directly, with `ci.model` enum members (their values are the stored words).
`concluded_jobs` turns a run's units into what dependants see (`needs.<id>`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.ci.errors import NotFound
from conveyor.ci.jobplan import NeedDone
from conveyor.ci.model import Conclusion, Job, Request, Run, Status, Unit
from conveyor.store.ci_store import CIStore
from conveyor.workflow.run.results import combine


class Ledger:
    """Reads of the CI store as `ci.model` values."""

    def __init__(self, store: CIStore) -> None:
        self.store = store

    def run(self, run_id: int) -> Run:
        """The run, else `NotFound` (404 at the API)."""
        found = self.find_run(run_id)
        if found is None:
            raise NotFound(f"no run {run_id}")
        return found

    def find_run(self, run_id: int) -> Run | None:
        row = self.store.run(run_id)
        return None if row is None else run_of(row)

    def runs(
        self, *, status: Sequence[Status], repo: str | None = None, limit: int = 1000
    ) -> list[Run]:
        return [run_of(r) for r in self.store.runs(repo=repo, status=status, limit=limit)]

    def unit(self, unit_id: int) -> Unit | None:
        row = self.store.unit(unit_id)
        return None if row is None else unit_of(row)

    def units(self, *, run_id: int | None = None, status: Sequence[Status] = ()) -> list[Unit]:
        return [unit_of(r) for r in self.store.units(run_id=run_id, status=status)]

    def jobs(self, run_id: int) -> list[Job]:
        return [job_of(r) for r in self.store.jobs(run_id)]

    def cancel_request(self, run_id: int) -> Request | None:
        return _request(self.store.cancel_request(run_id))

    def stop_request(self, unit_id: int) -> Request | None:
        return _request(self.store.stop_request(unit_id))


def run_of(row: Mapping[str, Any]) -> Run:
    only = row["only_jobs"]
    return Run(
        id=int(row["id"]),
        repo=str(row["repo"]),
        clone_url=str(row["clone_url"]),
        workflow_path=str(row["workflow_path"]),
        workflow_name=str(row["workflow_name"]),
        event=str(row["event"]),
        ref=str(row["ref"]),
        sha=str(row["sha"]),
        payload=dict(row["payload"] or {}),
        status=Status(row["status"]),
        conclusion=conclusion_of(row["conclusion"]),
        reason=str(row["reason"]),
        concurrency_group=str(row["concurrency_group"]),
        cancel_in_progress=bool(row["cancel_in_progress"]),
        labels=tuple(row["labels"] or ()),
        only_jobs=None if only is None else tuple(only),
        attempt=int(row["attempt"]),
        run_number=int(row["run_number"]),
        rerun_of=row["rerun_of"],
        runner=str(row["runner"]),
        created=float(row["created"]),
        started=row["started"],
        finished=row["finished"],
    )


def unit_of(row: Mapping[str, Any]) -> Unit:
    matrix = row["matrix_filter"]
    return Unit(
        id=int(row["id"]),
        run_id=int(row["run_id"]),
        job_id=str(row["job_id"]),
        name=str(row["name"]),
        labels=tuple(row["labels"] or ()),
        matrix_filter=None if matrix is None else tuple((str(k), str(v)) for k, v in matrix),
        status=Status(row["status"]),
        conclusion=conclusion_of(row["conclusion"]),
        outputs=dict(row["outputs"] or {}),
        reason=str(row["reason"]),
        job_names=tuple(row["job_names"] or ()),
        concurrency_group=str(row["concurrency_group"]),
        cancel_in_progress=bool(row["cancel_in_progress"]),
        environment=str(row.get("environment") or ""),
        runner=str(row["runner"]),
        heartbeat=float(row["heartbeat"] or 0.0),
        finished=row["finished"],
    )


def job_of(row: Mapping[str, Any]) -> Job:
    """A job row; a runner reports its words, so an unknown status counts as unfinished."""
    try:
        status = Status(row["status"])
    except ValueError:
        status = Status.IN_PROGRESS
    return Job(
        run_id=int(row["run_id"]),
        name=str(row["name"]),
        job_id=str(row["job_id"]),
        status=status,
        conclusion=conclusion_of(row["conclusion"]),
        outputs=dict(row["outputs"] or {}),
        updated=float(row["updated"] or 0.0),
    )


def conclusion_of(word: str | None) -> Conclusion | None:
    """ "" (not concluded) is None; a word no job result spells counts as a failure."""
    if not word:
        return None
    try:
        return Conclusion(word)
    except ValueError:
        return Conclusion.FAILURE


def _request(row: Mapping[str, Any] | None) -> Request | None:
    if row is None:
        return None
    return Request(reason=str(row["reason"]), requested=float(row["requested"]))


def concluded_jobs(units: Sequence[Unit]) -> dict[str, NeedDone]:
    """Jobs whose every unit concluded: combined result, outputs merged in finishing order."""
    by_job: dict[str, list[Unit]] = {}
    for unit in units:
        by_job.setdefault(unit.job_id, []).append(unit)
    done: dict[str, NeedDone] = {}
    for job_id, parts in by_job.items():
        if any(p.status != Status.COMPLETED for p in parts):
            continue
        outputs: dict[str, str] = {}
        for part in sorted(parts, key=lambda p: p.finished or 0.0):
            outputs.update({k: v for k, v in part.outputs.items() if v != ""})
        result = combine(p.conclusion or Conclusion.FAILURE for p in parts)
        done[job_id] = NeedDone(result=result, outputs=outputs)
    return done
