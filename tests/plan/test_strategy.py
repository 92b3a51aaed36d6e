"""`strategy:` with expression keys and `${{ insert }}`, as the engine and the CI server's job
planner read it (one pure rule, `conveyor.workflow.plan.strategy`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.ci.jobplan import NeedDone, RunContexts, fail_fast, plan_job
from conveyor.workflow.expr import EvalContext
from conveyor.workflow.load import load_workflow
from conveyor.workflow.model import Strategy, Workflow
from conveyor.workflow.plan.errors import PlanError
from conveyor.workflow.plan.strategy import resolve
from conveyor.workflow.run.results import Result

CONTEXTS = RunContexts(github={}, inputs={}, vars={"MATRIX": '{"os": ["a", "b"]}'})


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
    assert fail_fast(wf.jobs[1], contexts) is False
    assert fail_fast(wf.jobs[1], CONTEXTS) is True  # the key evaluates to '': no property


def test_a_key_that_is_no_strategy_property_after_evaluation_fails_the_job(tmp_path: Path) -> None:
    wf = _workflow(tmp_path, "      ${{ insert }}: ${{ fromJSON('{\"parallel\":2}') }}\n")
    decision = plan_job(
        wf, wf.jobs[1], CONTEXTS, {"plan": NeedDone(result=Result.SUCCESS, outputs={})}
    )
    assert decision.result is Result.FAILURE
    assert "Unexpected value 'parallel'" in decision.message


@pytest.mark.parametrize(
    ("template", "legs", "fail", "limit"),
    [
        ("${{ fromJSON(vars.S) }}", [{"n": 1}, {"n": 2}], False, 1),
        ({"${{ insert }}": "${{ fromJSON(vars.S) }}"}, [{"n": 1}, {"n": 2}], False, 1),
        ({"${{ vars.K }}": {"n": [3]}}, [{"n": 3}], True, None),
        (None, [{}], True, None),
    ],
)
def test_a_strategy_template_is_evaluated_before_its_properties_are_read(
    template: object, legs: list[dict[str, object]], fail: bool, limit: int | None
) -> None:
    ctx = EvalContext(
        contexts={
            "vars": {
                "S": '{"matrix": {"n": [1, 2]}, "fail-fast": false, "max-parallel": 1}',
                "K": "matrix",
            }
        }
    )
    resolved = resolve(
        Strategy(template=template), ctx, where="ci.yml: jobs.b.strategy", job_id="b"
    )
    assert list(resolved.combos) == legs
    assert (resolved.fail_fast, resolved.max_parallel) == (fail, limit)


def test_a_strategy_that_evaluates_to_no_mapping_is_an_error() -> None:
    ctx = EvalContext(contexts={"vars": {"S": "[1]"}})
    with pytest.raises(PlanError, match="not a mapping"):
        resolve(Strategy(template="${{ fromJSON(vars.S) }}"), ctx, where="w", job_id="b")
