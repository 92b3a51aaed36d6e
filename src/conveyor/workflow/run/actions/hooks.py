"""Pre and post steps of actions: their environment files, and the job-end post phase.

`node.py` and `docker.py` call `hook_env` to run a `pre`/`post` script outside the normal
step loop and `read_state` to turn GITHUB_STATE into STATE_* for the later phases.
`conveyor.workflow.run.job` calls `run_posts` once every step has run: posts run in reverse
order of registration, each when its condition (default `always()`) holds, shown as a
`Post <step name>` step; a failing post fails the job, as on GitHub.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import compile_condition, is_truthy
from conveyor.workflow.run import envfiles
from conveyor.workflow.run.results import Result, StepResult
from conveyor.workflow.run.rundir import step_log_path
from conveyor.workflow.run.scope import JobRun, Scope

_FILES = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY")


def hook_env(jr: JobRun, extra: Mapping[str, str]) -> dict[str, str]:
    """A pre/post process's environment: the job's variables, fresh env files, `extra`."""
    env = {**jr.base_env, **jr.env_context(Scope()), **jr.default_env}
    suffix = uuid.uuid4().hex
    for var in _FILES:
        path = jr.dirs.temp / f"{var.lower()}_{suffix}"
        path.touch()
        env[var] = str(path)
    if jr.path_prepend:
        env["PATH"] = envfiles.compose_path(jr.path_prepend, env.get("PATH", ""))
    env.update(extra)
    return env


def read_state(env: Mapping[str, str]) -> dict[str, str]:
    """The STATE_* variables the process saved through its GITHUB_STATE file."""
    path = Path(env.get("GITHUB_STATE", ""))
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError:
        return {}
    values = envfiles.parse_kv_file(text, path="GITHUB_STATE") if text else {}
    return {f"STATE_{k}": v for k, v in values.items()}


async def run_posts(jr: JobRun) -> list[StepResult]:
    """Run the registered post steps, last registered first."""
    results: list[StepResult] = []
    posts, jr.posts = jr.posts, []
    for post in reversed(posts):
        ctx = jr.eval_context(Scope())
        try:
            holds = is_truthy(compile_condition(post.condition).evaluate(ctx))
        except ConveyorError as exc:
            jr.error(f"{exc}")
            holds = False
        if not holds:
            continue
        jr.step_counter += 1
        started = time.monotonic()
        jr.session.console.step_start(jr.prefix, post.name)
        path = step_log_path(jr.log_dir, jr.step_counter, "post")
        with path.open("w", encoding="utf-8") as log:
            jr.log = log
            try:
                ok = await post.run()
            except ConveyorError as exc:
                jr.error(f"{exc}")
                ok = False
            finally:
                jr.log = None
        result = Result.SUCCESS if ok else Result.FAILURE
        if not ok:
            jr.failed = True
        duration = time.monotonic() - started
        jr.session.console.step_end(jr.prefix, post.name, str(result), duration)
        results.append(
            StepResult(
                id=f"post-{len(results) + 1}",
                name=post.name,
                outcome=result,
                conclusion=result,
                duration=duration,
            )
        )
    return results
