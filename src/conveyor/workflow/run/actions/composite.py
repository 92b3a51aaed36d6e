"""Runs a local composite action (`runs.using: composite`).

`CompositeStep` is the step kind `conveyor.workflow.run.factory` picks for it; it runs the
action's steps through the step runner it is handed (`StepCall.run_steps`). GitHub's rules:
`inputs.<name>` come from `with:` or the input's `default` (an expression, evaluated in the
action's context); a `required` input that is missing is an empty string (GitHub does not
enforce it); unknown `with:` keys only warn. The action's steps run in a nested scope with
their own `steps` context, env files fresh per inner step, the caller step's `env` visible,
INPUT_* and GITHUB_ACTION_PATH set.
ONLY declared `outputs` (their `value` expressions over the inner `steps`) reach the
caller: unlike act, nothing leaks.
Composite actions nest up to 10 levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import Value, evaluate_raw, to_str
from conveyor.workflow.model import Action
from conveyor.workflow.run.commands import Annotation, AnnotationLevel
from conveyor.workflow.run.kinds import StepCall, StepKind
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import MAX_ACTION_DEPTH, JobRun, Scope


def _inputs(action: Action, given: Mapping[str, str], outer: Scope, jr: JobRun) -> dict[str, Value]:
    lowered = {k.lower(): v for k, v in given.items()}
    declared = {name.lower() for name in action.inputs}
    unexpected = sorted(k for k in lowered if k not in declared)
    if unexpected:
        valid = ", ".join(f"'{n}'" for n in action.inputs)
        jr.annotate(
            Annotation(
                level=AnnotationLevel.WARNING,
                message=f"Unexpected input(s) {', '.join(repr(u) for u in unexpected)}, "
                f"valid inputs are [{valid}]",
            )
        )
    ctx = jr.eval_context(Scope(depth=outer.depth + 1, steps={}, inputs={}))
    values: dict[str, Value] = {}
    for name, spec in action.inputs.items():
        if name.lower() in lowered:
            values[name] = lowered[name.lower()]
        elif spec.default is not None:
            values[name] = to_str(evaluate_raw(spec.default, ctx))
        else:  # GitHub does not enforce `required` for composite actions
            values[name] = ""
    return values


class CompositeStep(StepKind):
    """A `runs.using: composite` action: its steps in a nested scope; no pre, no post of its
    own (its steps' posts register as theirs)."""

    def __init__(self, action: Action, directory: Path) -> None:
        self.action, self.directory = action, directory

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        """Run the action's steps; returns the outcome and the declared outputs."""
        outer, jr, env = call.scope, call.jr, call.env
        if outer.depth + 1 > MAX_ACTION_DEPTH:
            raise ConveyorError(f"composite actions nest deeper than {MAX_ACTION_DEPTH} levels")
        step_env = {k: env[k] for k in call.step.env if k in env}
        scope = Scope(
            inputs=_inputs(self.action, call.inputs, outer, jr),
            env={**outer.env, **step_env},
            action_path=str(self.directory),
            action_name=self.action.name,
            depth=outer.depth + 1,
        )
        await call.run_steps(self.action.runs.steps, scope, jr)
        return (Result.FAILURE if scope.failed else Result.SUCCESS), _outputs(
            self.action, scope, jr
        )


def _outputs(action: Action, scope: Scope, jr: JobRun) -> dict[str, str]:
    """The declared `outputs`, evaluated over the action's own `steps`."""
    ctx = jr.eval_context(scope)
    outputs: dict[str, str] = {}
    for name, spec in action.outputs.items():
        try:
            outputs[name] = to_str(evaluate_raw(spec.value, ctx))
        except ConveyorError as exc:
            jr.error(f"output {name}: {exc}")
            outputs[name] = ""
    return outputs
