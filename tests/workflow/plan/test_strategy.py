"""`strategy:` with expression keys and `${{ insert }}`, as the engine and the CI server's job
planner read it (one pure rule, `conveyor.workflow.plan.strategy`; the planner's own
decisions over it are in `test_jobs.py`)."""

from __future__ import annotations

import pytest

from conveyor.workflow.expr import EvalContext
from conveyor.workflow.model import Strategy
from conveyor.workflow.plan.errors import PlanError
from conveyor.workflow.plan.strategy import resolve


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
