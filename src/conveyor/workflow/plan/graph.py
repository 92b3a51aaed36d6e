"""The `needs` graph of a workflow's jobs: validation, order, and what may start next.

Called by the loader (to report unknown needs and cycles with GitHub's own messages and
their locations) and by the scheduler in `conveyor.workflow.run`, which starts a job as soon
as ITS needs are done (`Graph.ready`) instead of waiting for stage barriers.

Validation follows GitHub's parser (`@actions/workflow-parser`, model/converter/jobs.js):
satisfy jobs from those without needs outward; every need left unsatisfied is reported,
as "creates a cycle" when it names an existing job and "unknown job" otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from conveyor.workflow.model import Job
from conveyor.workflow.plan.errors import PlanError


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedProblem:
    """One unsatisfiable `needs` entry: `job` is the job whose `needs` names `need`."""

    job: str
    need: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """Direct needs of every job (file order kept); build it with `Graph.of(jobs)`."""

    needs: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, jobs: Iterable[Job]) -> Graph:
        return cls(needs={job.id: tuple(job.needs) for job in jobs})

    def dependents(self, job_id: str) -> tuple[str, ...]:
        """Jobs that name `job_id` in their own `needs` (direct dependents only)."""
        return tuple(other for other, needs in self.needs.items() if job_id in needs)

    def ready(self, done: Iterable[str], started: Iterable[str] = ()) -> list[str]:
        """Jobs not yet started whose needs are all in `done`, in file order."""
        finished, begun = set(done), set(started) | set(done)
        return [
            job
            for job, needs in self.needs.items()
            if job not in begun and all(need in finished for need in needs)
        ]

    def order(self) -> list[str]:
        """A topological order, as close to file order as the needs allow."""
        placed: list[str] = []
        while len(placed) < len(self.needs):
            batch = self.ready(placed)
            if not batch:
                raise PlanError(self.problems()[0].message if self.problems() else "cycle")
            placed.append(batch[0])
        return placed

    def with_needs(self, job_ids: Iterable[str]) -> list[str]:
        """`job_ids` plus everything they transitively need, in topological order."""
        wanted: set[str] = set()
        pending = list(job_ids)
        while pending:
            job = pending.pop()
            if job not in wanted:
                wanted.add(job)
                pending.extend(self.needs.get(job, ()))
        return [job for job in self.order() if job in wanted]

    def problems(self) -> list[NeedProblem]:
        """Every unsatisfiable need with GitHub's message; empty when the graph is valid."""
        if self.needs and all(self.needs.values()):
            return [NeedProblem(job="", need="", message=NO_ROOT)]
        remaining = {job: list(needs) for job, needs in self.needs.items() if needs}
        frontier = [job for job, needs in self.needs.items() if not needs]
        while frontier:
            current = frontier.pop(0)
            for job in list(remaining):
                remaining[job] = [n for n in remaining[job] if n != current]
                if not remaining[job]:
                    del remaining[job]
                    frontier.append(job)
        return [
            NeedProblem(job=job, need=need, message=_message(job, need, need in self.needs))
            for job, needs in remaining.items()
            for need in needs
        ]


NO_ROOT = "The workflow must contain at least one job with no dependencies."


def validate(jobs: Sequence[Job]) -> Graph:
    """The graph of `jobs`, or a `PlanError` listing every problem (at the first one's job)."""
    graph = Graph.of(jobs)
    problems = graph.problems()
    if problems:
        where = next((j.loc for j in jobs if j.id == problems[0].job), None)
        raise PlanError("\n".join(p.message for p in problems), location=where)
    return graph


def order(jobs: Sequence[Job]) -> list[str]:
    """Job ids in a topological order close to file order (raises on cycles)."""
    return Graph.of(jobs).order()


def dependents(jobs: Sequence[Job], job_id: str) -> tuple[str, ...]:
    """Jobs whose own `needs` name `job_id`."""
    return Graph.of(jobs).dependents(job_id)


def _message(job: str, need: str, known: bool) -> str:
    if known:
        return f"Job '{job}' depends on job '{need}' which creates a cycle in the dependency graph."
    return f"Job '{job}' depends on unknown job '{need}'."
