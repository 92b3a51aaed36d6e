"""The job's pre and post phases: every step's `pre` at its start, the posts at its end.

`job.py` calls `run_pres` once the job's containers run, before any step: each step's kind
(`factory.step_kind`) runs its `pre`, in step order; a failing `pre` fails the job without
running steps. A local `./` action is skipped: it does not exist before checkout, and GitHub
does not run its `pre` either. `run_posts` runs once every step has run: the posts that step
kinds registered (`StepKind.post`) run in reverse order, each when its condition (default
`always()`) holds, shown as a `Post <step name>` step; a failing post fails the job, as on
GitHub.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import compile_condition, is_truthy
from conveyor.workflow.model import Step
from conveyor.workflow.run.factory import step_kind
from conveyor.workflow.run.results import Result, StepResult
from conveyor.workflow.run.rundir import step_log_path
from conveyor.workflow.run.scope import JobRun, PostStep, Scope


async def run_pres(steps: Sequence[Step], scope: Scope, jr: JobRun) -> bool:
    """Run the `pre` of every step that has one, in step order; False when one failed."""
    for step in steps:
        if step.uses is not None and step.uses.startswith("./"):
            continue
        if not await step_kind(step, jr).pre(jr, scope):
            return False
    return True


async def run_posts(jr: JobRun) -> list[StepResult]:
    """Run the registered post steps, last registered first."""
    results: list[StepResult] = []
    posts, jr.state.posts = jr.state.posts, []
    for post in reversed(posts):
        if _holds(post.condition, jr):
            results.append(await _run_post(post, jr, f"post-{len(results) + 1}"))
    return results


def _holds(condition: str, jr: JobRun) -> bool:
    try:
        return is_truthy(compile_condition(condition).evaluate(jr.eval_context(Scope())))
    except ConveyorError as exc:
        jr.error(f"{exc}")
        return False


async def _run_post(post: PostStep, jr: JobRun, step_id: str) -> StepResult:
    """One post step, with its own log; a failure fails the job."""
    jr.state.step_counter += 1
    started = time.monotonic()
    jr.setup.session.console.step_start(jr.setup.prefix, post.name)
    path = step_log_path(jr.setup.log_dir, jr.state.step_counter, "post")
    with path.open("w", encoding="utf-8") as log:
        jr.state.log = log
        try:
            ok = await post.run()
        except ConveyorError as exc:
            jr.error(f"{exc}")
            ok = False
        finally:
            jr.state.log = None
    result = Result.SUCCESS if ok else Result.FAILURE
    if not ok:
        jr.state.failed = True
    duration = time.monotonic() - started
    jr.setup.session.console.step_end(jr.setup.prefix, post.name, str(result), duration)
    return StepResult(
        id=step_id, name=post.name, outcome=result, conclusion=result, duration=duration
    )
