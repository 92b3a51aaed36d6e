"""The `needs` graph: GitHub's validation messages, order, dependents, readiness."""

from __future__ import annotations

import pytest

from conveyor.core.location import Location
from conveyor.workflow.model import Job
from conveyor.workflow.plan.errors import PlanError
from conveyor.workflow.plan.graph import NO_ROOT, Graph, dependents, order, validate


def jobs(**needs: tuple[str, ...]) -> list[Job]:
    return [
        Job(id=name, needs=deps, loc=Location(file="ci.yml", line=i + 2, col=3))
        for i, (name, deps) in enumerate(needs.items())
    ]


def graph(**needs: tuple[str, ...]) -> Graph:
    return Graph.of(jobs(**needs))


@pytest.mark.parametrize(
    ("needs", "messages"),
    [
        ({"a": (), "b": ("a",)}, []),
        ({"a": (), "b": ("x",)}, ["Job 'b' depends on unknown job 'x'."]),
        (
            {"one": (), "two": ("three",), "three": ("two",)},
            [
                "Job 'two' depends on job 'three' which creates a cycle in the dependency graph.",
                "Job 'three' depends on job 'two' which creates a cycle in the dependency graph.",
            ],
        ),
        ({"a": ("b",), "b": ("a",)}, [NO_ROOT]),
        # GitHub's quirk, kept: a job waiting on a blocked job is reported as a cycle.
        (
            {"a": (), "b": ("x",), "c": ("b",)},
            [
                "Job 'b' depends on unknown job 'x'.",
                "Job 'c' depends on job 'b' which creates a cycle in the dependency graph.",
            ],
        ),
    ],
)
def test_problems_use_githubs_messages(
    needs: dict[str, tuple[str, ...]], messages: list[str]
) -> None:
    assert [p.message for p in graph(**needs).problems()] == messages


def test_validate_raises_all_problems_at_the_first_job() -> None:
    with pytest.raises(PlanError) as info:
        validate(jobs(a=(), b=("x",), c=("y",)))
    assert info.value.message.splitlines() == [
        "Job 'b' depends on unknown job 'x'.",
        "Job 'c' depends on unknown job 'y'.",
    ]
    assert info.value.location == Location(file="ci.yml", line=3, col=3)


def test_validate_returns_the_graph() -> None:
    assert validate(jobs(a=(), b=("a",))).needs == {"a": (), "b": ("a",)}


def test_order_is_topological_and_close_to_file_order() -> None:
    g = graph(deploy=("test", "lint"), test=("build",), build=(), lint=())
    assert g.order() == ["build", "test", "lint", "deploy"]


def test_order_of_a_cyclic_graph_raises() -> None:
    with pytest.raises(PlanError, match="cycle"):
        graph(a=(), b=("c",), c=("b",)).order()


def test_dependents_are_direct_only() -> None:
    g = graph(a=(), b=("a",), c=("b",), d=("a", "c"))
    assert g.dependents("a") == ("b", "d")
    assert g.dependents("c") == ("d",)
    assert g.dependents("d") == ()


def test_ready_starts_a_job_as_soon_as_its_own_needs_finish() -> None:
    g = graph(a=(), slow=(), b=("a",), c=("slow",), d=("b", "c"))
    assert g.ready(done=set()) == ["a", "slow"]
    assert g.ready(done=set(), started={"a", "slow"}) == []
    # `a` finished while `slow` still runs: `b` may start now, no stage barrier.
    assert g.ready(done={"a"}, started={"a", "slow"}) == ["b"]
    assert g.ready(done={"a", "b", "slow"}, started={"a", "b", "slow"}) == ["c"]
    assert g.ready(done={"a", "b", "slow", "c"}) == ["d"]


def test_with_needs_adds_transitive_needs() -> None:
    g = graph(a=(), b=("a",), c=("b",), other=())
    assert g.with_needs(["c"]) == ["a", "b", "c"]
    assert g.with_needs(["other"]) == ["other"]


def test_module_level_helpers() -> None:
    flow = jobs(b=("a",), a=())
    assert order(flow) == ["a", "b"]
    assert dependents(flow, "a") == ("b",)
