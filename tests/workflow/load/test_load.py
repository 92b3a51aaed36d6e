"""`load_workflow`, `load_action` and `lint_paths` on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conveyor.core.errors import UserError
from conveyor.workflow.load import WorkflowInvalid, lint_paths, load_action, load_workflow
from conveyor.workflow.schema.definitions import schema_dir
from tests.workflow.load.cases import SHARED

SEED = SHARED / "seed" / "workflows"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    return tmp_path


def write(repo: Path, name: str, text: str) -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_ci_cd_is_rejected_at_its_step_level_outputs(repo: Path) -> None:
    path = Path(shutil.copy(SEED / "ci-cd.yml", repo / ".github" / "workflows"))
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(path, root=repo)
    (problem,) = caught.value.problems
    assert str(problem.location) == ".github/workflows/ci-cd.yml:31:9"
    assert problem.rule == "step-outputs"
    assert problem.message.startswith("Unexpected value 'outputs'")
    assert "jobs.<job_id>.outputs" in problem.message
    assert ".github/workflows/ci-cd.yml:31:9" in str(caught.value)


@pytest.mark.parametrize("name", ["deploy.yml", "reusable-build.yml"])
def test_other_seed_workflows_load(repo: Path, name: str) -> None:
    path = Path(shutil.copy(SEED / name, repo / ".github" / "workflows"))
    workflow = load_workflow(path, root=repo)
    assert workflow.path == f".github/workflows/{name}"
    assert workflow.jobs


def test_seed_main_passes_secrets_its_callee_does_not_declare(repo: Path) -> None:
    """GitHub rejects this too ("Invalid secret, … is not defined in the referenced
    workflow."): reusable-build.yml declares no `secrets:` under `workflow_call`."""
    for name in ("main.yml", "reusable-build.yml"):
        shutil.copy(SEED / name, repo / ".github" / "workflows")
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(repo / ".github" / "workflows" / "main.yml", root=repo)
    assert {p.rule for p in caught.value.problems} == {"reusable-secret"}


CALLEE = """\
on:
  workflow_call:
    inputs:
      n: {type: number, required: true}
      flag: {type: boolean}
    secrets:
      token: {required: true}
jobs:
  j: {runs-on: x, steps: [{run: a}]}
"""


def test_local_reusable_calls_are_checked_against_the_callee(repo: Path) -> None:
    write(repo, ".github/workflows/callee.yml", CALLEE)
    caller = write(
        repo,
        ".github/workflows/caller.yml",
        "on: push\njobs:\n  c:\n    uses: ./.github/workflows/callee.yml\n"
        "    with: {flag: maybe, extra: 1}\n"
        "  d:\n    uses: ./.github/workflows/missing.yml\n",
    )
    with pytest.raises(WorkflowInvalid) as caught:
        load_workflow(caller, root=repo)
    messages = sorted(p.message for p in caught.value.problems)
    assert messages == [
        "Input n is required, but not provided while calling.",
        "Invalid input, extra is not defined in the referenced workflow.",
        "Secret token is required, but not provided while calling.",
        "Unable to find reusable workflow",
        "Unexpected value 'maybe'",
    ]


def test_a_good_call_loads(repo: Path) -> None:
    write(repo, ".github/workflows/callee.yml", CALLEE)
    caller = write(
        repo,
        ".github/workflows/caller.yml",
        "on: push\njobs:\n  c:\n    uses: ./.github/workflows/callee.yml\n"
        "    with: {n: '${{ 1 }}', flag: true}\n    secrets: inherit\n",
    )
    assert load_workflow(caller, root=repo).jobs[0].secrets == "inherit"


def test_missing_file_is_a_user_error(repo: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_workflow(repo / "nope.yml", root=repo)


def test_lint_paths_reads_directories_and_reports_every_file(repo: Path) -> None:
    write(repo, ".github/workflows/a.yml", "on: push\njobs:\n  a: {runs-on: x, bad: 1}\n")
    write(repo, ".github/workflows/b.yaml", "on: push\njobs: {}\n")
    write(repo, ".github/workflows/notes.txt", "not a workflow")
    problems = lint_paths([repo / ".github" / "workflows"], root=repo)
    assert [str(p.location) for p in problems] == [
        ".github/workflows/a.yml:3:19",
        ".github/workflows/b.yaml:2:7",
    ]


def test_lint_paths_refuses_a_missing_path(repo: Path) -> None:
    with pytest.raises(UserError, match="no such file or directory"):
        lint_paths([repo / "missing"], root=repo)


COMPOSITE = """\
name: greet
description: says hello
inputs:
  who: {description: whom, required: true, default: world}
outputs:
  said: {description: what, value: "${{ steps.s.outputs.said }}"}
runs:
  using: composite
  steps:
    - id: s
      run: echo "said=hi" >> "$GITHUB_OUTPUT"
      shell: bash
    - uses: actions/checkout@v4
    - run: echo 2
      shell: sh
"""


def test_load_composite_action(repo: Path) -> None:
    write(repo, "act/action.yml", COMPOSITE)
    action = load_action(repo / "act", root=repo)
    assert action.path == "act"
    assert action.name == "greet"
    assert action.inputs["who"].required
    assert action.inputs["who"].default == "world"
    assert action.outputs["said"].value == "${{ steps.s.outputs.said }}"
    assert action.runs.using == "composite"
    assert [s.id for s in action.runs.steps] == ["s", "__actions_checkout", "__run"]


def test_load_action_yaml_and_node_runs(repo: Path) -> None:
    write(repo, "n/action.yaml", "name: n\nruns:\n  using: node20\n  main: dist/index.js\n")
    action = load_action(repo / "n", root=repo)
    assert (action.runs.using, action.runs.main) == ("node20", "dist/index.js")


def test_composite_run_step_needs_a_shell(repo: Path) -> None:
    write(repo, "c/action.yml", COMPOSITE.replace("      shell: sh\n", ""))
    with pytest.raises(WorkflowInvalid) as caught:
        load_action(repo / "c", root=repo)
    assert [(str(p.location), p.message) for p in caught.value.problems] == [
        ("c/action.yml:14:7", "Required property is missing: shell")
    ]


def test_missing_action_metadata(repo: Path) -> None:
    (repo / "empty").mkdir()
    with pytest.raises(UserError, match=r"no action\.yml"):
        load_action(repo / "empty", root=repo)


def test_missing_schema_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVEYOR_WORKFLOW_SCHEMA_DIR", str(tmp_path))
    with pytest.raises(UserError) as caught:
        schema_dir()
    assert "make install" in str(caught.value)


def test_lint_paths_checks_an_action_file_named_explicitly(repo: Path) -> None:
    path = write(repo, "c/action.yml", COMPOSITE.replace("      shell: sh\n", ""))
    problems = lint_paths([path], root=repo)
    assert [(str(p.location), p.rule) for p in problems] == [("c/action.yml:14:7", "required")]


@pytest.mark.parametrize("event", ["repository_dispatch", "push", "workflow_dispatch"])
def test_every_event_short_form_loads(repo: Path, event: str) -> None:
    # The published schema's repository-dispatch-string constant is a copy-paste slip
    # (`branch_protection_rule`); GitHub runs `on: repository_dispatch`, and so do we.
    path = write(
        repo,
        "short.yml",
        f"on:\n  {event}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: true\n",
    )
    workflow = load_workflow(path, root=repo)
    assert list(workflow.on) == [event]
