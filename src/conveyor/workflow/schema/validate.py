"""Every check on one workflow or action text, in GitHub's order: YAML, schema, semantics.

`check_workflow` / `check_action` return the root node and all problems found; the caller
(`conveyor.workflow.load`) reads files, decides what to raise, and builds the model. A
`Resolver` lets the reusable-workflow checks see a called workflow's text (local files for
`load_workflow`, embedded texts for GitHub's test cases).

Pure: no I/O besides the schema JSON read once by `definitions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conveyor.workflow.schema.calls_check import check_calls
from conveyor.workflow.schema.definitions import ACTION_SCHEMA, WORKFLOW_SCHEMA, load_schema
from conveyor.workflow.schema.events_check import check_events
from conveyor.workflow.schema.jobs_check import check_jobs
from conveyor.workflow.schema.limits import MAX_ACTION_DEPTH, file_too_large
from conveyor.workflow.schema.nodes import Map, Node, Seq, parse_yaml
from conveyor.workflow.schema.problems import Problem, Severity, Sink
from conveyor.workflow.schema.reader import validate
from conveyor.workflow.schema.start_check import check_start
from conveyor.workflow.schema.steps_check import check_composite_steps

#: `uses:` of a reusable-workflow job -> the called workflow's text, or None if unknown
Resolver = Callable[[str], str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """A parsed file and every problem found in it."""

    root: Node | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        errors = [p for p in self.problems if p.severity == Severity.ERROR]
        return not errors and isinstance(self.root, Map)


def check_workflow(text: str, file: str, *, resolve: Resolver | None = None) -> Checked:
    sink = Sink(file)
    too_large = file_too_large(text)
    if too_large is not None:  # GitHub reads no further either
        sink.add(0, 0, too_large, "file-size")
        return Checked(root=None, problems=tuple(sink.problems))
    root = parse_yaml(text, sink)
    if root is None:
        if not sink.problems:
            sink.add(1, 1, "The workflow file is empty", "empty")
        return Checked(root=None, problems=tuple(sink.problems))
    validate(root, "workflow-root-strict", load_schema(WORKFLOW_SCHEMA), sink)
    check_events(root, sink)
    check_jobs(root, sink)
    check_start(root, sink)
    if resolve is not None:
        check_calls(root, sink, resolve)
    return Checked(root=root, problems=tuple(_ordered(sink.problems)))


def check_action(text: str, file: str) -> Checked:
    sink = Sink(file)
    root = parse_yaml(text, sink, max_depth=MAX_ACTION_DEPTH)
    if root is None:
        if not sink.problems:
            sink.add(1, 1, "The action file is empty", "empty")
        return Checked(root=None, problems=tuple(sink.problems))
    validate(root, "action-root", load_schema(ACTION_SCHEMA), sink)
    runs = root.get("runs") if isinstance(root, Map) else None
    steps = runs.get("steps") if isinstance(runs, Map) else None
    if isinstance(runs, Map) and runs.get("using") is None:
        sink.add(runs.line, runs.col, "Required property is missing: using", "required")
    if isinstance(steps, Seq):
        check_composite_steps(steps, sink)
    return Checked(root=root, problems=tuple(_ordered(sink.problems)))


def _ordered(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.location.line, p.location.col))
