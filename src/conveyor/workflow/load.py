"""Workflow and action files to validated `conveyor.workflow.model` values.

`load_workflow` reads one workflow, checks it completely against GitHub's schema and rules
(`conveyor.workflow.schema`) and raises `WorkflowInvalid` listing every problem, or returns
the `Workflow`. `lint_paths` only reports. `load_action` reads `action.yml`/`action.yaml`
(a file of that name inside `.github/workflows/` is a workflow, as on GitHub).
Local reusable workflows (`uses: ./.github/workflows/x.yml`) are read from `root` so calls
are checked against the callee's inputs and secrets.

Called by `conveyor run` (before anything runs), `conveyor lint`, and the engine for
composite actions and reusable workflows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conveyor.core.errors import UserError
from conveyor.core.location import Location
from conveyor.workflow.model import Action, Workflow
from conveyor.workflow.schema.build_action import build_action
from conveyor.workflow.schema.build_workflow import build_workflow
from conveyor.workflow.schema.nodes import Map
from conveyor.workflow.schema.problems import Problem, Severity
from conveyor.workflow.schema.validate import Checked, Resolver, check_action, check_workflow

__all__ = [
    "Problem",
    "Severity",
    "WorkflowInvalid",
    "lint_paths",
    "load_action",
    "load_workflow",
]

ACTION_FILES = ("action.yml", "action.yaml")
WORKFLOWS_DIR = (".github", "workflows")


class WorkflowInvalid(UserError):
    """A workflow or action file with problems; `problems` lists all of them."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{file} is invalid ({count} {noun}):\n{lines}",
            location=self.problems[0].location if self.problems else None,
        )

    def __str__(self) -> str:
        return self.message


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it (as GitHub names workflow files)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from exc


def local_resolver(root: Path) -> Resolver:
    """Reads `./…` reusable workflows from the repository at `root`; others are unknown."""

    def resolve(uses: str) -> str | None:
        if not uses.startswith("./"):
            return None
        target = root / uses
        try:
            return target.read_text(encoding="utf-8") if target.is_file() else None
        except (OSError, UnicodeDecodeError):
            return None

    return resolve


def is_action_metadata(path: Path) -> bool:
    """An `action.yml`/`action.yaml` outside `.github/workflows/` is action metadata; inside
    it, GitHub reads every `*.yml`/`*.yaml` as a workflow, whatever its name."""
    if path.name not in ACTION_FILES:
        return False
    return path.resolve().parent.parts[-2:] != WORKFLOWS_DIR


def _check_file(path: Path, root: Path) -> tuple[str, Checked]:
    file = display_path(path, root)
    text = _read(path)
    if is_action_metadata(path):
        return file, check_action(text, file)
    return file, check_workflow(text, file, resolve=local_resolver(root))


def load_workflow(path: Path, *, root: Path) -> Workflow:
    """The validated workflow; `WorkflowInvalid` with every problem otherwise."""
    file = display_path(path, root)
    checked = check_workflow(_read(path), file, resolve=local_resolver(root))
    if not checked.ok or not isinstance(checked.root, Map):
        raise WorkflowInvalid(file, checked.problems)
    return build_workflow(checked.root, file)


def load_action(directory: Path, *, root: Path) -> Action:
    """The action in `directory` (`action.yml`, else `action.yaml`), validated."""
    path = next((directory / n for n in ACTION_FILES if (directory / n).is_file()), None)
    if path is None:
        where = Location(file=display_path(directory, root))
        raise UserError(
            "no action.yml or action.yaml in this directory",
            location=where,
            hint="a local action's directory must contain its metadata file",
        )
    file = display_path(path, root)
    checked = check_action(_read(path), file)
    if not checked.ok or not isinstance(checked.root, Map):
        raise WorkflowInvalid(file, checked.problems)
    return build_action(checked.root, file, display_path(directory, root))


def workflow_files(paths: Sequence[Path]) -> list[Path]:
    """Files named by `paths`: a directory stands for its `*.yml` / `*.yaml` files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [p for p in path.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()]
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or directory")
    return files


def lint_paths(paths: Sequence[Path], *, root: Path) -> list[Problem]:
    """Every problem in every file under `paths` (a `UserError` if a path does not exist)."""
    problems: list[Problem] = []
    for path in workflow_files(paths):
        _, checked = _check_file(path, root)
        problems.extend(checked.problems)
    return problems
