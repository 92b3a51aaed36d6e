"""The registry of built-in actions: Python versions of popular marketplace actions.

Called by `conveyor.workflow.run.actions.resolve` when a step `uses: owner/repo[/path]@ref` that
is not in the action store (a vendored real action of the same name wins). Each built-in
lives in its own module of this package as `async def run(call: BuiltinCall) -> outputs`;
it fails by raising `ConveyorError` (the message becomes the step's error) and may add a
post step to `call.posts` (e.g. `actions/cache` saves there). `BuiltinStep` is the step kind
`conveyor.workflow.run.factory` picks for them. Modules are imported only when a step uses
them.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from conveyor.workflow.expr import EvalContext
from conveyor.workflow.model import Step
from conveyor.workflow.run.kinds import StepCall, StepKind
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import JobRun, PostStep

#: action name (lower case, as in `uses:` before `@`) -> module in this package
BUILT_INS: Mapping[str, str] = {
    "actions/checkout": "checkout",
    "actions/cache": "cache",
    "actions/cache/restore": "cache_restore",
    "actions/cache/save": "cache_save",
    "actions/upload-artifact": "upload_artifact",
    "actions/download-artifact": "download_artifact",
    "actions/setup-python": "setup_python",
    "actions/setup-node": "setup_node",
    "docker/setup-buildx-action": "setup_buildx",
    "docker/login-action": "login",
    "docker/metadata-action": "metadata",
    "docker/build-push-action": "build_push",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltinCall:
    """One invocation: rendered `with:` inputs (keys lower case), the step's process env."""

    inputs: Mapping[str, str]
    env: Mapping[str, str]
    step: Step
    jr: JobRun
    ctx: EvalContext
    posts: list[PostStep] = field(default_factory=list)  # run at the job's end

    def get(self, name: str, default: str = "") -> str:
        value = self.inputs.get(name.lower())
        return default if value is None or value == "" else value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.inputs.get(name.lower(), "").strip().lower()
        return default if not value else value == "true"

    def lines(self, name: str) -> list[str]:
        """A list input (newline and/or comma separated, as the docker actions accept)."""
        raw = self.inputs.get(name.lower(), "")
        parts = [p.strip() for line in raw.splitlines() for p in line.split(",")]
        return [p for p in parts if p]


BuiltinFn = Callable[[BuiltinCall], Awaitable[dict[str, str]]]


def built_in(name: str) -> BuiltinFn | None:
    """The built-in for `name` (`owner/repo[/path]`, any case), or None."""
    module = BUILT_INS.get(name.lower())
    if module is None:
        return None
    loaded = importlib.import_module(f"{__name__}.{module}")
    fn: BuiltinFn = loaded.run
    return fn


class BuiltinStep(StepKind):
    """A built-in action: `main` is its `run`; `post` what it added to `call.posts`."""

    def __init__(self, fn: BuiltinFn) -> None:
        self.fn = fn
        self._posts: Sequence[PostStep] = ()

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        inputs = {k.lower(): v for k, v in call.inputs.items()}
        builtin = BuiltinCall(inputs=inputs, env=call.env, step=call.step, jr=call.jr, ctx=call.ctx)
        outputs = await self.fn(builtin)
        self._posts = builtin.posts
        return Result.SUCCESS, outputs

    def post(self) -> Sequence[PostStep]:
        return self._posts
