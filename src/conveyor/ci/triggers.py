"""Turns an event (a push to a hosted repo, a GitHub webhook, a dispatch) into run plans.

Called by `conveyor.ci.service.CIService.handle_event`. Reads the workflow files of the
event's commit from the bare repository (`git show`, no checkout), validates each with the
workflow loader and decides with `workflow.plan.filters.triggers` whether it runs. An
invalid file becomes a plan with `invalid=True` whose annotations carry file and line: the
service records it as a failed run, as GitHub does. Also evaluates workflow-level
`concurrency` (group, cancel-in-progress) and collects the static `runs-on` labels (shown
with the run; each job is dispatched on its own evaluated labels by `ci.jobplan`).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.core.errors import ConveyorError
from conveyor.workflow.load import WorkflowInvalid, load_workflow
from conveyor.workflow.model import Workflow
from conveyor.workflow.plan.event import Event
from conveyor.workflow.plan.filters import triggers
from conveyor.workflow.plan.jobs import workflow_concurrency

WORKFLOW_DIR = ".github/workflows"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPlan:
    """One workflow the event starts (or a broken workflow file to report)."""

    workflow_path: str
    workflow_name: str
    labels: tuple[str, ...] = ()
    concurrency_group: str = ""
    cancel_in_progress: bool = False
    invalid: bool = False
    annotations: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


def read_workflows(git_dir: Path, sha: str, into: Path) -> list[Path]:
    """Copy `.github/workflows/*.y?ml` of commit `sha` under `into`; their paths."""
    listing = _git(
        git_dir, "ls-tree", "--name-only", "--end-of-options", f"{sha}:{WORKFLOW_DIR}", check=False
    )
    files: list[Path] = []
    for name in sorted(listing.splitlines()):
        if not name.endswith((".yml", ".yaml")):
            continue
        text = _git(git_dir, "show", "--end-of-options", f"{sha}:{WORKFLOW_DIR}/{name}")
        path = into / WORKFLOW_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files.append(path)
    return files


def changed_files(git_dir: Path, before: str, after: str) -> tuple[str, ...] | None:
    """Paths a push changed, or None when unknown (new branch: GitHub runs path filters)."""
    if not before or set(before) == {"0"}:
        return None
    try:
        out = _git(git_dir, "diff", "--name-only", "--end-of-options", before, after, "--")
    except ConveyorError:
        return None
    return tuple(line for line in out.splitlines() if line)


def commit_message(git_dir: Path, sha: str) -> str:
    """The full message of `sha` (for `head_commit.message` and `[skip ci]`), or ''."""
    try:
        return _git(git_dir, "log", "-1", "--format=%B", "--end-of-options", sha, "--")
    except ConveyorError:
        return ""


def pushed_commits(git_dir: Path, before: str, after: str, *, limit: int) -> list[tuple[str, str]]:
    """(sha, message) of the commits a push added, newest first, at most `limit`; of a new
    branch, its head alone (which of its commits are new is not known any more)."""
    new_branch = not before or set(before) == {"0"}
    span = [after] if new_branch else [f"{before}..{after}"]
    count = 1 if new_branch else limit
    try:
        out = _git(
            git_dir, "log", "--format=%H%x00%B%x1e", f"--max-count={count}", "--end-of-options",
            *span, "--",
        )  # fmt: skip
    except ConveyorError:
        return []
    found = (entry.strip("\n").split("\0", 1) for entry in out.split("\x1e"))
    return [(e[0], e[1]) for e in found if len(e) == 2]


def plan_runs(git_dir: Path, event: Event) -> list[RunPlan]:
    """Every workflow of `event.sha` that `event` triggers, plus every invalid file."""

    plans: list[RunPlan] = []
    with tempfile.TemporaryDirectory(prefix="conveyor-trigger-") as tmp:
        root = Path(tmp)
        for path in read_workflows(git_dir, event.sha, root):
            rel = path.relative_to(root).as_posix()
            try:
                workflow = load_workflow(path, root=root)
            except WorkflowInvalid as exc:
                notes = tuple(_annotation(p.location, p.message) for p in exc.problems)
                plans.append(
                    RunPlan(workflow_path=rel, workflow_name=rel, invalid=True, annotations=notes)
                )
                continue
            if triggers(workflow, event):
                plans.append(_plan(workflow, rel, event))
    return plans


def load_run_workflow(git_dir: Path, sha: str, workflow_path: str) -> Workflow:
    """The parsed workflow of a run, read again from its commit (job planning, re-runs),
    next to the commit's other workflow files (local reusable workflows it calls)."""

    with tempfile.TemporaryDirectory(prefix="conveyor-run-workflow-") as tmp:
        root = Path(tmp)
        read_workflows(git_dir, sha, root)
        path = root / workflow_path
        if not path.exists():
            text = _git(git_dir, "show", "--end-of-options", f"{sha}:{workflow_path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return load_workflow(path, root=root)


def _annotation(location: Any, message: str) -> dict[str, Any]:
    return {
        "level": "error",
        "message": message,
        "file": getattr(location, "file", ""),
        "line": getattr(location, "line", 0),
        "col": getattr(location, "col", 0),
    }


def _plan(workflow: Workflow, rel: str, event: Event) -> RunPlan:
    group, cancel = concurrency_of(workflow, event)
    return RunPlan(
        workflow_path=rel,
        workflow_name=workflow.display_name,
        labels=tuple(sorted(job_labels(workflow))),
        concurrency_group=group,
        cancel_in_progress=cancel,
    )


def job_labels(workflow: Workflow) -> set[str]:
    """The static `runs-on` labels of every job, shown with the run (`ci.jobplan` evaluates
    each job's own `runs-on`, expressions included, when the job is dispatched)."""
    labels: set[str] = set()
    for job in workflow.jobs:
        labels.update(_labels(job.runs_on))
    return labels


def _labels(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [] if "${{" in raw else [raw]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, str) and "${{" not in item]
    if isinstance(raw, dict):
        return _labels(raw.get("labels"))
    return []


def concurrency_of(workflow: Workflow, event: Event) -> tuple[str, bool]:
    """Workflow-level `concurrency` when a run is queued ("" when none; no `vars` yet)."""
    return workflow_concurrency(
        workflow, event, payload=event.payload, inputs=event.inputs, variables={}
    )


def _git(git_dir: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        if check:
            raise ConveyorError(f"git {args[0]} failed: {done.stderr.strip()}")
        return ""
    return done.stdout


def labels_match(runner_labels: Sequence[str], wanted: Sequence[str]) -> bool:
    """A runner takes a job when it has every label the job's `runs-on` asks for."""
    have = {label.lower() for label in runner_labels}
    return all(label.lower() in have for label in wanted)
