"""Table-driven tests of the engine's pure pieces: results, status functions, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from conveyor.workflow.expr import EvalContext, compile_condition
from conveyor.workflow.plan.github import ref_name_and_type
from conveyor.workflow.run.concurrency import ConcurrencyGroups
from conveyor.workflow.run.results import JobResult, Result, combine
from conveyor.workflow.run.status import step_functions

S, F, C, K = Result.SUCCESS, Result.FAILURE, Result.CANCELLED, Result.SKIPPED


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([], S),
        ([S, S], S),
        ([S, K], S),
        ([K, K], K),
        ([S, C], C),
        ([C, F, S], F),
    ],
)
def test_combine(results: list[Result], expected: Result) -> None:
    assert combine(results) is expected


def test_continue_on_error_failure_counts_as_success_for_dependants() -> None:
    job = JobResult(id="a", name="a", result=F, continue_on_error=True)
    assert job.needs_result is S
    assert JobResult(id="a", name="a", result=F).needs_result is F


@pytest.mark.parametrize(
    ("status", "condition", "expected"),
    [
        ("success", "true", True),
        ("failure", "true", False),
        ("failure", "failure()", True),
        ("cancelled", "always()", True),
        ("cancelled", "success() || failure()", False),
        ("cancelled", "cancelled()", True),
    ],
)
def test_step_level_status_functions(status: str, condition: str, expected: bool) -> None:
    ctx = EvalContext(contexts={}, functions=step_functions(lambda: status))
    assert compile_condition(condition).evaluate(ctx) is expected


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("refs/heads/main", ("main", "branch")),
        ("refs/heads/feature/x", ("feature/x", "branch")),
        ("refs/tags/v1.2", ("v1.2", "tag")),
        ("refs/pull/7/merge", ("7/merge", "branch")),
    ],
)
def test_ref_name_and_type(ref: str, expected: tuple[str, str]) -> None:
    assert ref_name_and_type(ref) == expected


def test_concurrency_group_keeps_one_running_and_one_pending() -> None:
    async def scenario() -> list[str]:
        groups = ConcurrencyGroups()
        events: list[str] = []
        assert await groups.acquire("G", cancel_in_progress=False, cancel=lambda: None)
        second = asyncio.ensure_future(
            groups.acquire("g", cancel_in_progress=False, cancel=lambda: events.append("2 stop"))
        )
        await asyncio.sleep(0)
        third = asyncio.ensure_future(
            groups.acquire("g", cancel_in_progress=False, cancel=lambda: None)
        )
        await asyncio.sleep(0)
        events.append(f"second granted={await second}")  # replaced by the newer arrival
        assert not third.done()
        groups.release("g")
        events.append(f"third granted={await third}")
        fourth = asyncio.ensure_future(
            groups.acquire("g", cancel_in_progress=True, cancel=lambda: None)
        )
        await asyncio.sleep(0)
        groups.release("g")
        events.append(f"fourth granted={await fourth}")
        return events

    assert asyncio.run(scenario()) == [
        "second granted=False",
        "third granted=True",
        "fourth granted=True",
    ]


def test_cancel_in_progress_stops_the_running_member() -> None:
    async def scenario() -> list[str]:
        groups = ConcurrencyGroups()
        stopped: list[str] = []
        await groups.acquire("g", cancel_in_progress=False, cancel=lambda: stopped.append("1"))
        waiting = asyncio.ensure_future(
            groups.acquire("g", cancel_in_progress=True, cancel=lambda: None)
        )
        await asyncio.sleep(0)
        groups.release("g")  # the running one ends after being told to stop
        assert await waiting
        return stopped

    assert asyncio.run(scenario()) == ["1"]
