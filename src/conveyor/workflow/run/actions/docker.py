"""Container actions through Podman: `runs.using: docker` and `uses: docker://image` steps.

`ImageStep` (`uses: docker://image`) and `DockerStep` (`runs.using: docker`) are the step
kinds `conveyor.workflow.run.factory` picks for them. As GitHub's runner does: the image is
built from the action's Dockerfile (`image: Dockerfile`) or taken as is (`docker://…`); the
container runs with `--workdir /github/workspace`, the workspace mounted there, the step's
environment (INPUT_*, GITHUB_*, RUNNER_*, CI, `env:`) passed in, GITHUB_WORKSPACE, HOME and
GITHUB_EVENT_PATH pointing inside the container (`/github/workspace`, `/github/home`,
`/github/workflow/event.json`) and the env files mounted under `/github/file_commands`.
`args` and `entrypoint` (action.yml, or `with: args/entrypoint` on a `docker://` step)
override the image's. `pre-entrypoint` runs at the job's start (`DockerStep.pre`, called by
`phases.run_pres`; not for local actions, as on GitHub), `post-entrypoint` at the job's end.
In a job with a Podman
network (services, container job) the action joins it, so services resolve by name.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.runners.host import HostRunner
from conveyor.workflow.expr import EvalContext, evaluate_mapping, evaluate_raw, to_str
from conveyor.workflow.model import Action, Step
from conveyor.workflow.run.actions.hooks import hook_env, run_pre
from conveyor.workflow.run.actions.node import input_env
from conveyor.workflow.run.containers import ensure_image, podman
from conveyor.workflow.run.kinds import StepCall, StepKind
from conveyor.workflow.run.output import LineHandler
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import JobRun, PostStep, Scope

_HOST_ONLY = frozenset({"PATH", "HOME", "SHELL", "USER", "LOGNAME", "TMPDIR", "LANG", "LC_ALL"})
_FILE_VARS = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY")


def _network(jr: JobRun) -> str:
    for key in ("container", "services"):
        entry = jr.state.job_context.get(key)
        if key == "container" and isinstance(entry, dict):
            return str(entry.get("network") or "")
        if isinstance(entry, dict):
            for service in entry.values():
                if isinstance(service, dict) and service.get("network"):
                    return str(service["network"])
    return ""


def container_args(jr: JobRun, env: Mapping[str, str]) -> list[str]:
    """`podman run` options shared by every container action of the job."""
    temp = jr.setup.dirs.temp
    home = temp / "_github_home"
    home.mkdir(exist_ok=True)
    args = ["run", "--rm", "--workdir", "/github/workspace"]
    args += ["-v", f"{jr.setup.dirs.workspace}:/github/workspace"]
    args += ["-v", f"{home}:/github/home", "-v", f"{temp}:/github/file_commands"]
    event = jr.setup.session.identity.event_path
    if event.exists():
        args += ["-v", f"{event}:/github/workflow/event.json:ro"]
    network = _network(jr)
    if network:
        args += ["--network", network]
    inside = {k: v for k, v in env.items() if k not in _HOST_ONLY}
    for var in _FILE_VARS:
        if var in inside:
            inside[var] = f"/github/file_commands/{Path(inside[var]).name}"
    inside |= {
        "GITHUB_WORKSPACE": "/github/workspace",
        "HOME": "/github/home",
        "GITHUB_EVENT_PATH": "/github/workflow/event.json",
        "RUNNER_TEMP": "/github/runner_temp",
    }
    for key, value in inside.items():
        args += ["-e", f"{key}={value}"]
    return args


async def _run(jr: JobRun, argv: Sequence[str]) -> bool:
    pm = podman()
    handler = LineHandler(jr)
    result = await HostRunner().exec(
        pm.argv(*argv),
        env=dict(pm.env),
        cwd=jr.setup.dirs.workspace,
        timeout=None,
        on_output=handler,
    )
    handler.close()
    if result.exit_code != 0:
        jr.error(f"Docker run failed with exit code {result.exit_code}")
        return False
    return not handler.failed


async def _image(action: Action, directory: Path) -> str:
    image = action.runs.image or ""
    if image.startswith("docker://"):
        return image.removeprefix("docker://")
    dockerfile = directory / image
    if not dockerfile.is_file():
        raise ConveyorError(f"the action's image '{image}' is not a file in {directory}")
    tag = "localhost/conveyor-action/" + hashlib.sha256(str(dockerfile).encode()).hexdigest()[:16]
    built = await podman().run(
        "build",
        "-q",
        "-t",
        tag,
        "-f",
        str(dockerfile),
        "--",
        str(dockerfile.parent),
        check=False,
    )
    if built.returncode != 0:
        raise ConveyorError(f"building the action's image failed: {built.stderr.strip()[-800:]}")
    return tag


def _args_and_env(
    action: Action, inputs: Mapping[str, str], ctx: EvalContext
) -> tuple[list[str], dict[str, str]]:
    """`runs.args` and `runs.env`, evaluated with the action's `inputs` context."""
    inner = EvalContext(
        contexts={**ctx.contexts, "inputs": {k[6:].lower(): v for k, v in inputs.items()}},
        functions=ctx.functions,
    )
    args = [to_str(evaluate_raw(a, inner)) for a in action.runs.args]
    return args, {k: to_str(v) for k, v in evaluate_mapping(action.runs.env, inner).items()}


class DockerStep(StepKind):
    """A `runs.using: docker` action: `pre-entrypoint`, entrypoint, `post-entrypoint`."""

    def __init__(self, action: Action, directory: Path, step: Step) -> None:
        self.action, self.directory, self.step = action, directory, step
        self._posts: tuple[PostStep, ...] = ()  # the post-entrypoint, once `main` ran

    async def pre(self, jr: JobRun, scope: Scope) -> bool:
        """A vendored action's `pre-entrypoint`, at the job's start."""
        entrypoint = self.action.runs.pre_entrypoint
        if not entrypoint:
            return True

        async def body(ctx: EvalContext, given: dict[str, str]) -> bool:
            inputs = input_env(self.action, given, ctx)
            image = await _image(self.action, self.directory)
            base = container_args(jr, hook_env(jr, inputs))
            return await _run(jr, [*base, "--entrypoint", entrypoint, "--", image])

        return await run_pre(jr, scope, self.step, self.action.runs.pre_if, body)

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        """The entrypoint (the image's, or `runs.entrypoint`) with `runs.args`."""
        runs, step, jr, ctx = self.action.runs, self.step, call.jr, call.ctx
        inputs = input_env(self.action, call.inputs, ctx)
        args, action_env = _args_and_env(self.action, inputs, ctx)
        image = await _image(self.action, self.directory)
        base = container_args(jr, {**call.env, **action_env, **inputs})
        if runs.pre_entrypoint and step.uses and step.uses.startswith("./"):
            jr.warning(f"`pre` execution is not supported for local action from '{step.uses}'")
        entry = ["--entrypoint", runs.entrypoint] if runs.entrypoint else []
        ok = await _run(jr, [*base, *entry, "--", image, *args])
        if runs.post_entrypoint:
            post_argv = [*base, "--entrypoint", runs.post_entrypoint, "--", image]

            async def post() -> bool:
                return await _run(jr, post_argv)

            condition = runs.post_if or "always()"
            self._posts = (PostStep(name=f"Post {step.uses}", condition=condition, run=post),)
        return (Result.SUCCESS if ok else Result.FAILURE), {}

    def post(self) -> Sequence[PostStep]:
        return self._posts


class ImageStep(StepKind):
    """`uses: docker://image`: `with: args` (shell-split) and `entrypoint`; no pre, no post."""

    def __init__(self, image: str) -> None:
        self.image = image

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        await ensure_image(podman(), self.image)
        lowered = {k.lower(): v for k, v in call.inputs.items()}
        extra = {f"INPUT_{k.upper()}": v for k, v in lowered.items()}
        argv = container_args(call.jr, {**call.env, **extra})
        if lowered.get("entrypoint"):
            argv += ["--entrypoint", lowered["entrypoint"]]
        argv += ["--", self.image, *shlex.split(lowered.get("args", ""))]
        ok = await _run(call.jr, argv)
        return (Result.SUCCESS if ok else Result.FAILURE), {}
