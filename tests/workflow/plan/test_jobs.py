"""Table tests of the job planner (`conveyor.workflow.plan.jobs`): what the engine's scheduler
and the CI server's dispatcher (`conveyor.ci.jobplan`) both decide about a job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conveyor.ci.jobplan import plan_job
from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, Value, compile_condition
from conveyor.workflow.load import load_workflow
from conveyor.workflow.model import Concurrency, Environment, Job, Strategy, Workflow
from conveyor.workflow.plan import jobs as planner
from conveyor.workflow.plan.event import Event
from conveyor.workflow.plan.github import RunIdentity, job_level
from conveyor.workflow.plan.jobs import NeedDone, Result, RunContexts

S, F, C, K = Result.SUCCESS, Result.FAILURE, Result.CANCELLED, Result.SKIPPED
CONTEXTS = RunContexts(github={}, inputs={}, vars={"MATRIX": '{"os": ["a", "b"]}'})

# a <- b <- c, and d on its own
CHAIN = Workflow(
    path="ci.yml",
    jobs=(
        Job(id="a"),
        Job(id="b", needs=("a",)),
        Job(id="c", needs=("b",)),
        Job(id="d"),
    ),
)


def _done(**results: Result) -> dict[str, NeedDone]:
    return {job_id: NeedDone(result=result) for job_id, result in results.items()}


@pytest.mark.parametrize(
    ("job_id", "done", "expected"),
    [
        ("a", {}, True),  # no needs
        ("b", {}, False),
        ("b", _done(a=F), True),  # concluded, whatever the result
        ("c", _done(a=S), False),
        ("c", _done(a=S, b=K), True),
    ],
)
def test_a_job_is_ready_once_each_direct_need_concluded(
    job_id: str, done: dict[str, NeedDone], expected: bool
) -> None:
    job = CHAIN.job(job_id)
    assert job is not None
    assert planner.ready(job, done) is expected


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        (_done(a=S, b=F, d=S), {"a": S, "b": F}),  # transitive, not d
        (_done(b=S, d=S), {"b": S}),  # a did not conclude: it hides nothing further
        (_done(a=F), {}),  # b did not conclude: a is behind it
    ],
)
def test_ancestors_are_the_concluded_jobs_a_job_transitively_needs(
    done: dict[str, NeedDone], expected: dict[str, Result]
) -> None:
    job = CHAIN.job("c")
    assert job is not None
    assert planner.ancestors(CHAIN, job, done) == expected


@pytest.mark.parametrize(
    ("condition", "ancestors", "expected"),
    [
        ("true", {"a": S}, True),
        ("true", {"a": F}, False),  # implicit success() &&
        ("true", {"a": K}, False),  # a skipped need skips the dependant
        ("true", {"a": C}, False),
        ("failure()", {"a": F}, True),
        ("failure()", {"a": S, "b": C}, False),
        ("failure('b')", {"a": F, "b": S}, False),
        ("failure('A')", {"a": F, "b": S}, True),  # job ids compare case-insensitively
        ("success('b')", {"a": F, "b": S}, True),
        ("always()", {"a": F}, True),
        ("!cancelled()", {"a": F}, True),
    ],
)
def test_job_level_status_functions(
    condition: str, ancestors: dict[str, Result], expected: bool
) -> None:
    ctx = EvalContext(contexts={}, functions=planner.job_functions(ancestors, cancelled=False))
    assert compile_condition(condition).evaluate(ctx) is expected


@pytest.mark.parametrize(
    ("if_", "done", "cancelled", "expected"),
    [
        (None, _done(a=S, b=S), False, True),  # implicit success()
        (None, _done(a=F, b=S), False, False),  # an ancestor, not a direct need, failed
        (None, _done(a=S, b=S), True, False),  # a cancelled run: success() no longer holds
        ("always()", _done(a=S, b=S), True, True),
        ("cancelled()", _done(a=S, b=S), True, True),
        ("failure('a')", _done(a=F, b=K), False, True),
        (
            "needs.b.outputs.go == 'yes'",
            {"a": NeedDone(result=S), "b": NeedDone(result=S, outputs={"go": "yes"})},
            False,
            True,
        ),
        ("github.ref == 'refs/heads/main'", _done(a=S, b=S), False, True),
        ("vars.MISSING == ''", _done(a=S, b=S), False, True),
        ("fromJSON('{')", _done(a=S, b=S), False, False),  # cannot be evaluated: no
    ],
)
def test_holds_evaluates_the_if_over_needs_ancestors_and_the_run_contexts(
    if_: str | None, done: dict[str, NeedDone], cancelled: bool, expected: bool
) -> None:
    job = Job(id="c", needs=("b",), if_=if_)
    workflow = Workflow(path="ci.yml", jobs=(CHAIN.jobs[0], CHAIN.jobs[1], job))
    contexts = RunContexts(github={"ref": "refs/heads/main"}, inputs={}, vars={})
    assert planner.holds(workflow, job, contexts, done, cancelled=cancelled) is expected


def test_an_if_that_cannot_be_evaluated_raises_for_the_caller_to_fail_the_job() -> None:
    job = Job(id="a", if_="fromJSON('{')")
    ctx = planner.job_context(CHAIN, job, CONTEXTS, {}, cancelled=False)
    with pytest.raises(ConveyorError):
        planner.runs(job, ctx)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, "build"),
        ("Build", "Build"),
        ("Build ${{ inputs.target }}", "Build arm"),
        ("${{ fromJSON('{') }}", "build"),  # cannot be evaluated: the job id
    ],
)
def test_job_name(name: str | None, expected: str) -> None:
    ctx = EvalContext(contexts={"inputs": {"target": "arm"}})
    assert planner.job_name(Job(id="build", name=name), ctx) == expected


MATRIX = Strategy(matrix={"os": ["linux", "mac"], "n": [1, 2]})


@pytest.mark.parametrize(
    ("strategy", "matrix_filter", "combos"),
    [
        (None, (), [{}]),
        (
            MATRIX,
            (),
            [
                {"os": "linux", "n": 1},
                {"os": "linux", "n": 2},
                {"os": "mac", "n": 1},
                {"os": "mac", "n": 2},
            ],
        ),
        (MATRIX, (("os", "mac"),), [{"os": "mac", "n": 1}, {"os": "mac", "n": 2}]),
        (MATRIX, (("os", "win"),), []),  # nothing left: the job is skipped
        (None, (("os", "mac"),), [{}]),  # a filter narrows matrices only
        (Strategy(matrix="${{ fromJSON(vars.MATRIX) }}"), (), [{"os": "a"}, {"os": "b"}]),
    ],
)
def test_legs(
    strategy: Strategy | None, matrix_filter: tuple[tuple[str, str], ...], combos: list[object]
) -> None:
    job = Job(id="build", strategy=strategy)
    ctx = planner.job_context(CHAIN, job, CONTEXTS, {}, cancelled=False)
    legs = planner.legs(CHAIN, job, ctx, matrix_filter=matrix_filter)
    assert [leg.combo for leg in legs] == combos
    assert [leg.strategy["job-index"] for leg in legs] == list(range(len(combos)))


def test_a_legs_strategy_context_counts_every_leg() -> None:
    job = Job(id="build", strategy=Strategy(matrix={"n": [1, 2, 3]}, max_parallel=2))
    ctx = planner.job_context(CHAIN, job, CONTEXTS, {}, cancelled=False)
    leg = planner.legs(CHAIN, job, ctx)[1]
    assert leg.strategy == {"fail-fast": True, "job-index": 1, "job-total": 3, "max-parallel": 2}


@pytest.mark.parametrize(
    ("name", "combo", "expected"),
    [
        (None, {}, "build"),
        (None, {"os": "mac", "n": 1}, "build (mac, 1)"),
        ("Build", {"os": "mac"}, "Build (mac)"),
        ("Build on ${{ matrix.os }}", {"os": "mac"}, "Build on mac"),  # names the leg itself
    ],
)
def test_leg_name(name: str | None, combo: dict[str, Value], expected: str) -> None:
    job = Job(id="build", name=name)
    ctx = planner.leg_context(EvalContext(contexts={}), combo, {})
    assert planner.leg_name(job, combo, ctx) == expected


def test_a_leg_context_adds_matrix_and_strategy_without_status_functions() -> None:
    job = Job(id="b", needs=("a",))
    ctx = planner.job_context(CHAIN, job, CONTEXTS, _done(a=S), cancelled=False)
    leg_ctx = planner.leg_context(ctx, {"os": "mac"}, {"job-index": 0})
    assert set(leg_ctx.contexts) == {"github", "inputs", "vars", "needs", "matrix", "strategy"}
    assert leg_ctx.contexts["needs"] == {"a": {"result": "success", "outputs": {}}}
    assert ctx.functions
    assert not leg_ctx.functions


@pytest.mark.parametrize(
    ("raw", "labels"),
    [
        ("ubuntu-latest", ("ubuntu-latest",)),
        (["self-hosted", "gpu"], ("self-hosted", "gpu")),
        ("${{ matrix.os }}", ("mac",)),
        (["self-hosted", "${{ inputs.pool }}"], ("self-hosted", "arm")),
        ("${{ needs.pick.outputs.label }}", ("gpu-7",)),
        ({"group": "big", "labels": ["x64", "${{ matrix.os }}"]}, ("x64", "mac")),
        ({"group": "big", "labels": "${{ inputs.pool }}"}, ("arm",)),
        ('${{ fromJSON(\'["a", "b"]\') }}', ("a", "b")),
        ("${{ inputs.missing }}", ()),
        (None, ()),
    ],
)
def test_runs_on_expressions(raw: object, labels: tuple[str, ...]) -> None:
    ctx = EvalContext(
        contexts={
            "matrix": {"os": "mac"},
            "inputs": {"pool": "arm"},
            "needs": {"pick": {"result": "success", "outputs": {"label": "gpu-7"}}},
        }
    )
    assert planner.runs_on_labels(raw, ctx) == labels


def test_runner_labels_of_a_reusable_call_are_none_and_a_job_needs_one() -> None:
    ctx = EvalContext(contexts={"inputs": {}})
    assert planner.runner_labels(Job(id="call", uses="./.github/workflows/x.yml"), ctx) == ()
    assert planner.runner_labels(Job(id="b", runs_on="linux"), ctx) == ("linux",)
    with pytest.raises(ConveyorError, match=r"jobs\.b\.runs-on evaluated to no label"):
        planner.runner_labels(Job(id="b", runs_on="${{ inputs.pool }}"), ctx)


@pytest.mark.parametrize(
    ("concurrency", "expected"),
    [
        (None, ("", False)),
        (Concurrency(group="deploy"), ("deploy", False)),
        (
            Concurrency(group="deploy-${{ matrix.os }}", cancel_in_progress=True),
            ("deploy-mac", True),
        ),
        (
            Concurrency(group="${{ github.ref }}", cancel_in_progress="${{ matrix.os == 'mac' }}"),
            ("refs/heads/main", True),
        ),
        # no group: cancel-in-progress is not read (here it could not be evaluated)
        (
            Concurrency(group="${{ inputs.missing }}", cancel_in_progress="${{ fromJSON('{') }}"),
            ("", False),
        ),
    ],
)
def test_concurrency_key(concurrency: Concurrency | None, expected: tuple[str, bool]) -> None:
    ctx = EvalContext(
        contexts={"matrix": {"os": "mac"}, "github": {"ref": "refs/heads/main"}, "inputs": {}}
    )
    assert planner.concurrency_key(Job(id="b", concurrency=concurrency), ctx) == expected


@pytest.mark.parametrize(
    ("concurrency", "expected"),
    [
        (None, ("", False)),
        (Concurrency(group="${{ github.workflow }}-${{ github.ref_name }}"), ("CI-v1", False)),
        (
            Concurrency(
                group="${{ github.event_name }}-${{ inputs.stage }}-${{ vars.ZONE }}",
                cancel_in_progress="${{ github.head_ref == '' }}",
            ),
            ("push-prod-eu", True),
        ),
        # a group that cannot be evaluated puts the run in no group (both sides)
        (Concurrency(group="${{ fromJSON('{') }}"), ("", False)),
    ],
)
def test_workflow_concurrency_sees_github_inputs_and_vars(
    concurrency: Concurrency | None, expected: tuple[str, bool]
) -> None:
    event = Event(name="push", ref="refs/tags/v1", sha="abc", repository="o/r")
    workflow = Workflow(path="ci.yml", name="CI", concurrency=concurrency)
    got = planner.workflow_concurrency(
        workflow, event, payload={}, inputs={"stage": "prod"}, variables={"ZONE": "eu"}
    )
    assert got == expected


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (None, ""),
        (Environment(name="production"), "production"),
        (Environment(name=" ${{ matrix.stage }} ", url="https://x"), "staging"),
    ],
)
def test_environment_name(environment: Environment | None, expected: str) -> None:
    ctx = EvalContext(contexts={"matrix": {"stage": "staging"}})
    assert planner.environment_name(Job(id="b", environment=environment), ctx) == expected


def test_the_job_level_github_context_has_no_job_nor_workspace_and_the_workflows_payload() -> None:
    event = Event(
        name="push",
        payload={"after": "1"},
        ref="refs/tags/v1",
        sha="abc",
        actor="ann",
        repository="o/r",
    )
    ident = RunIdentity(run_id=7, run_number=3, event_path=Path("/x/event.json"), token="t")
    github = job_level(
        event, ident, workflow=Workflow(path="ci.yml", name="CI"), payload={"inputs": {"a": "1"}}
    )
    assert (github["job"], github["workspace"]) == ("", "")
    assert github["event"] == {"inputs": {"a": "1"}}
    assert (github["workflow"], github["ref_name"], github["ref_type"]) == ("CI", "v1", "tag")
    assert github["workflow_ref"] == "o/r/ci.yml@refs/tags/v1"
    assert (github["run_id"], github["run_number"]) == ("7", "3")


def _workflow(tmp_path: Path, strategy: str) -> Workflow:
    path = tmp_path / ".github" / "workflows" / "ci.yml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "on: push\njobs:\n  plan:\n    runs-on: x\n    steps:\n      - run: echo\n"
        "  build:\n    needs: plan\n    runs-on: ${{ matrix.os }}\n"
        f"    strategy:\n{strategy}    steps:\n      - run: echo\n"
    )
    return load_workflow(path, root=tmp_path)


def test_the_job_planner_expands_a_strategy_inserted_from_a_needed_jobs_output(
    tmp_path: Path,
) -> None:
    wf = _workflow(tmp_path, "      ${{ insert }}: ${{ fromJSON(needs.plan.outputs.s) }}\n")
    done = {
        "plan": NeedDone(result=Result.SUCCESS, outputs={"s": '{"matrix": {"os": ["a", "b"]}}'})
    }
    decision = plan_job(wf, wf.jobs[1], CONTEXTS, done)
    assert decision.result is None, decision.message
    assert sorted(unit.labels for unit in decision.units) == [("a",), ("b",)]


def test_an_expression_key_names_a_strategy_property(tmp_path: Path) -> None:
    wf = _workflow(
        tmp_path, "      matrix: ${{ fromJSON(vars.MATRIX) }}\n      ${{ vars.KEY }}: false\n"
    )
    contexts = RunContexts(github={}, inputs={}, vars={**CONTEXTS.vars, "KEY": "fail-fast"})
    assert planner.fail_fast(wf.jobs[1], contexts) is False
    assert planner.fail_fast(wf.jobs[1], CONTEXTS) is True  # the key evaluates to '': no property


def test_a_key_that_is_no_strategy_property_after_evaluation_fails_the_job(tmp_path: Path) -> None:
    wf = _workflow(tmp_path, "      ${{ insert }}: ${{ fromJSON('{\"parallel\":2}') }}\n")
    decision = plan_job(
        wf, wf.jobs[1], CONTEXTS, {"plan": NeedDone(result=Result.SUCCESS, outputs={})}
    )
    assert decision.result is Result.FAILURE
    assert "Unexpected value 'parallel'" in decision.message


def _job(**fields: Any) -> tuple[Workflow, Job]:
    job = Job(id="build", needs=("a",), **{"runs_on": "linux", **fields})
    return Workflow(path="ci.yml", jobs=(Job(id="a"), job)), job


@pytest.mark.parametrize(
    ("fields", "need", "result", "message"),
    [
        ({}, F, K, ""),  # a failed need skips the dependant
        ({"if_": "always()"}, F, None, ""),
        ({"if_": "false"}, S, K, ""),
        ({"strategy": Strategy(matrix={"n": []})}, S, F, "does not contain any values"),
        ({"strategy": Strategy(matrix={"n": [1], "exclude": [{"n": 1}]})}, S, K, ""),
        ({"runs_on": "${{ inputs.none }}"}, S, F, "evaluated to no label"),
        ({"if_": "fromJSON('{')"}, S, F, "Error reading JToken"),
    ],
)
def test_the_ci_planner_concludes_a_job_that_needs_no_runner(
    fields: dict[str, Any], need: Result, result: Result | None, message: str
) -> None:
    workflow, job = _job(**fields)
    decision = plan_job(workflow, job, CONTEXTS, _done(a=need))
    assert decision.result is result
    assert message in decision.message
    assert bool(decision.units) is (result is None)


def test_legs_that_need_different_runners_become_one_unit_each() -> None:
    workflow, job = _job(
        runs_on="${{ matrix.os }}",
        strategy=Strategy(matrix={"os": ["linux", "mac"], "n": [1, 2]}),
        environment=Environment(name="${{ matrix.os }}-env"),
    )
    decision = plan_job(workflow, job, CONTEXTS, _done(a=S))
    units = [(u.name, u.labels, u.matrix_filter, u.environment) for u in decision.units]
    assert units == [
        ("build (linux)", ("linux",), (("n", "1"), ("n", "2"), ("os", "linux")), "linux-env"),
        ("build (mac)", ("mac",), (("n", "1"), ("n", "2"), ("os", "mac")), "mac-env"),
    ]


def test_legs_that_share_runner_group_and_environment_stay_one_unit() -> None:
    workflow, job = _job(
        strategy=Strategy(matrix={"n": [1, 2]}),
        concurrency=Concurrency(group="deploy", cancel_in_progress=True),
    )
    (unit,) = plan_job(workflow, job, CONTEXTS, _done(a=S)).units
    assert (unit.name, unit.labels, unit.matrix_filter) == ("build", ("linux",), None)
    assert (unit.concurrency_group, unit.cancel_in_progress) == ("deploy", True)
