"""A run's job graph as the run page draws it (issue 15): jobs in columns by dependency
depth, each with its `needs`, matrix legs grouped under their job.

`routes_runs` builds `JobSpec`s from the run's workflow (every job, started or not) and calls
`graph()` with the run's job rows (`CIStore.jobs`: one per job or matrix leg, named as the
log's `job` column) and units (`CIStore.units`: how the server dispatched each job, with
start and end times). Pure: no I/O, no HTML.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]

#: while a job is not done, the most advanced state of its parts wins
ACTIVE = ("in_progress", "queued", "waiting", "pending")
#: once done, the worst conclusion of its parts wins (GitHub's matrix rule)
WORST = ("failure", "timed_out", "cancelled", "success", "neutral", "skipped")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """A job of the workflow: its key (`jobs.<key>`), the title shown and its needs."""

    key: str
    title: str
    needs: tuple[str, ...] = ()
    matrix: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One job row: a plain job, or one leg of a matrix (`build (1, a)`)."""

    name: str
    status: str
    href: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class JobNode:
    key: str
    title: str
    needs: tuple[str, ...]
    status: str
    duration: float | None
    legs: tuple[Leg, ...]
    matrix: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    depth: int
    jobs: tuple[JobNode, ...]


def job_href(run_id: int, name: str) -> str:
    """The job page of one job row (its name as the log's `job` column, URL-quoted)."""
    return f"/runs/{run_id}/jobs/{urllib.parse.quote(name, safe='')}"


def state(value: Row) -> str:
    """What a row or unit shows: its conclusion once completed, else its status."""
    if value.get("status") == "completed":
        return str(value.get("conclusion") or "completed")
    return str(value.get("status") or "pending")


def combined(states: Iterable[str]) -> str:
    """One state for several parts: an active one if any, else the worst conclusion."""
    seen = set(states)
    for word in (*ACTIVE, *WORST):
        if word in seen:
            return word
    return next(iter(seen), "pending")


def graph(
    run_id: int,
    specs: Sequence[JobSpec],
    rows: Sequence[Row],
    units: Sequence[Row],
    *,
    now: float,
    run_done: bool,
) -> tuple[Stage, ...]:
    """The stages of the run's graph; jobs the workflow does not name (rows of a reusable
    workflow's callee, or a workflow that could not be read) join the first column."""
    known = {spec.key for spec in specs}
    extra = [
        k for k in dict.fromkeys(str(r["job_id"] or r["name"]) for r in rows) if k not in known
    ]
    every = [*specs, *(JobSpec(key=k, title=k) for k in extra)]
    depth = depths(every)
    nodes = [_node(run_id, spec, rows, units, now=now, run_done=run_done) for spec in every]
    stages: dict[int, list[JobNode]] = {}
    for node in nodes:
        stages.setdefault(depth[node.key], []).append(node)
    return tuple(Stage(depth=d, jobs=tuple(stages[d])) for d in sorted(stages))


def depths(specs: Sequence[JobSpec]) -> dict[str, int]:
    """Each job's column: 0 without needs, else one past its deepest need (cycles, which
    the workflow loader refuses, and unknown needs count as depth 0)."""
    needs = {spec.key: spec.needs for spec in specs}
    found: dict[str, int] = {}

    def visit(key: str, path: frozenset[str]) -> int:
        if key in found:
            return found[key]
        before = [n for n in needs.get(key, ()) if n in needs and n not in path]
        found[key] = 1 + max((visit(n, path | {key}) for n in before), default=-1)
        return found[key]

    for spec in specs:
        visit(spec.key, frozenset())
    return found


def _node(
    run_id: int,
    spec: JobSpec,
    rows: Sequence[Row],
    units: Sequence[Row],
    *,
    now: float,
    run_done: bool,
) -> JobNode:
    mine = [r for r in rows if str(r["job_id"] or r["name"]) == spec.key]
    dispatched = [u for u in units if u["job_id"] == spec.key]
    legs = tuple(_leg(run_id, row) for row in mine)
    parts = [state(u) for u in dispatched] or [leg.status for leg in legs]
    status = combined(parts) if parts else ("skipped" if run_done else "pending")
    return JobNode(
        key=spec.key,
        title=spec.title,
        needs=spec.needs,
        status=status,
        duration=_duration(dispatched, now),
        legs=legs,
        matrix=spec.matrix or len(legs) > 1,
    )


def _leg(run_id: int, row: Row) -> Leg:
    steps = tuple(
        Step(name=str(s.get("name", "")), status=str(s.get("conclusion") or "pending"))
        for s in row.get("steps") or ()
    )
    return Leg(
        name=str(row["name"]),
        status=state(row),
        href=job_href(run_id, str(row["name"])),
        steps=steps,
    )


def _duration(units: Sequence[Row], now: float) -> float | None:
    """From the first unit's start to the last one's end (to now while one runs)."""
    starts = [float(u["started"]) for u in units if u.get("started")]
    if not starts:
        return None
    running = any(u.get("status") != "completed" for u in units)
    ends = [float(u["finished"]) for u in units if u.get("finished")]
    end = now if running or not ends else max(ends)
    return max(0.0, end - min(starts))
