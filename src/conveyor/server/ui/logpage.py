"""What the job page reads: the job's state, one page of its log, search hits (issue 15).

Called by `routes_logs`. Every read goes through the store's indexed window
(`CIStore.log_lines` with a `LogWindow`): a page costs its `PAGE` lines, a search one
filtered scan of the job's index range capped at `HITS` rows, the job's length one
backwards read of a single line — never the whole log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.ci.service import CIService
from conveyor.store.ci_logs import LogLine, LogWindow

PAGE = 1000  # lines on one page of the log
HITS = 500  # search hits on one page of results


@dataclass(frozen=True, slots=True, kw_only=True)
class JobState:
    """The job as its page and its stream see it."""

    status: str  # queued, waiting, in_progress, completed
    conclusion: str
    steps: list[Mapping[str, Any]]
    known: bool  # a job row, a unit or log lines of that name exist

    @property
    def running(self) -> bool:
        return self.status != "completed"

    @property
    def shown(self) -> str:
        return self.conclusion or self.status


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSlice:
    """One page of lines: `first`..`last` of `total`; `earlier`/`later` are the `from` of
    the neighbouring pages (0: none)."""

    lines: list[LogLine]
    total: int
    earlier: int
    later: int

    @property
    def at_tail(self) -> bool:
        return self.later == 0


def job_state(service: CIService, run_id: int, job: str, run: Mapping[str, Any]) -> JobState:
    """The job's row (the runner's report) if there is one, else its unit, else the run's."""
    row = next((j for j in service.store.jobs(run_id) if j["name"] == job), None)
    if row is not None:
        steps = [s for s in row.get("steps") or [] if isinstance(s, Mapping)]
        return JobState(
            status=str(row["status"]), conclusion=str(row["conclusion"] or ""), steps=steps,
            known=True,
        )  # fmt: skip
    unit = next((u for u in service.store.units(run_id=run_id) if u["name"] == job), None)
    source = unit if unit is not None else run
    return JobState(
        status=str(source["status"]), conclusion=str(source["conclusion"] or ""), steps=[],
        known=unit is not None,
    )  # fmt: skip


def job_length(service: CIService, run_id: int, job: str) -> int:
    """How many lines the job has (its last line's number: one index probe)."""
    last = service.store.log_lines(run_id, LogWindow(job=job, tail=1))
    return last[-1].number if last else 0


def page_start(line: int) -> int:
    """The `from` of the page that holds line `line` (pages start at 1, 1001, 2001 …)."""
    return (max(line, 1) - 1) // PAGE * PAGE + 1


def log_slice(service: CIService, run_id: int, job: str, start: int | None) -> LogSlice:
    """The page from line `start`, or the last `PAGE` lines when `start` is None."""
    total = job_length(service, run_id, job)
    if start is None or start > total:
        window = LogWindow(job=job, tail=PAGE)
    else:
        window = LogWindow(job=job, after=max(start, 1) - 1, limit=PAGE)
    lines = service.store.log_lines(run_id, window)
    first = lines[0].number if lines else total + 1
    last = lines[-1].number if lines else total
    earlier = max(first - PAGE, 1) if first > 1 else 0
    return LogSlice(
        lines=lines, total=total, earlier=earlier, later=last + 1 if last < total else 0
    )


def search(service: CIService, run_id: int, job: str, text: str, after: int) -> list[LogLine]:
    """Up to `HITS + 1` lines of the job after line `after` that contain `text` (any case):
    the extra one says there are more."""
    window = LogWindow(job=job, after=after, limit=HITS + 1, contains=text)
    return service.store.log_lines(run_id, window)
