"""`factory.step_kind`: which kind of step each `run:`/`uses:` becomes (table-driven)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from conveyor.core.errors import ConveyorError
from conveyor.workflow.model import Step
from conveyor.workflow.run.actions.builtins import BuiltinStep
from conveyor.workflow.run.actions.composite import CompositeStep
from conveyor.workflow.run.actions.docker import DockerStep, ImageStep
from conveyor.workflow.run.actions.node import NodeStep
from conveyor.workflow.run.factory import Unsupported, step_kind
from conveyor.workflow.run.kinds import StepCall
from conveyor.workflow.run.scope import JobRun
from conveyor.workflow.run.script import ScriptStep

ACTIONS = {
    "composite": "runs:\n  using: composite\n  steps:\n    - run: echo hi\n      shell: bash\n",
    "node": "runs:\n  using: node20\n  main: index.js\n",
    "docker": "runs:\n  using: docker\n  image: Dockerfile\n",
    "python": "runs:\n  using: python\n  main: x.py\n",
}


def _job(workspace: Path) -> JobRun:
    """A leg that only has a workspace: what the factory reads of it."""
    return cast(
        JobRun, SimpleNamespace(setup=SimpleNamespace(dirs=SimpleNamespace(workspace=workspace)))
    )


@pytest.mark.parametrize(
    ("step", "kind"),
    [
        (Step(id="s", run="echo hi"), ScriptStep),
        (Step(id="s", uses="docker://alpine:3"), ImageStep),
        (Step(id="s", uses="actions/checkout@v4"), BuiltinStep),
        (Step(id="s", uses="./composite"), CompositeStep),
        (Step(id="s", uses="./node"), NodeStep),
        (Step(id="s", uses="./docker"), DockerStep),
        (Step(id="s", uses="./python"), Unsupported),
    ],
)
def test_each_step_gets_its_kind(
    step: Step, kind: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_ACTIONS", str(tmp_path / "empty-store"))
    for name, text in ACTIONS.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "action.yml").write_text(f"name: {name}\ndescription: d\n{text}")
    assert type(step_kind(step, _job(tmp_path))) is kind


def test_an_unknown_remote_action_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_ACTIONS", str(tmp_path / "empty-store"))
    with pytest.raises(ConveyorError, match="not vendored"):
        step_kind(Step(id="s", uses="acme/nothing@v1"), _job(tmp_path))


def test_an_unsupported_action_fails_when_it_runs() -> None:
    kind = Unsupported("action './x' uses 'python', which is not supported")
    with pytest.raises(ConveyorError, match="not supported"):
        asyncio.run(kind.main(cast(StepCall, None)))
