"""GitHub's rules on a job's `steps:` beyond the schema: step ids (valid, not reserved,
unique without regard to case), and, in workflows, a `run` or `uses` in every step.

Called by `jobs_check` (workflow jobs) and `conveyor.workflow.load` (composite actions).
Pure.
"""

from __future__ import annotations

from conveyor.workflow.schema.ids import StepIds
from conveyor.workflow.schema.nodes import Map, Scalar, Seq
from conveyor.workflow.schema.problems import Sink


def check_steps(steps: Seq, sink: Sink) -> None:
    """Report bad or repeated step ids and `uses:` that name no action."""
    ids = StepIds()
    for step in steps.items:
        node = step.get("id") if isinstance(step, Map) else None
        if isinstance(node, Scalar) and node.text:
            message = ids.add_known(node.text)
            if message:
                sink.add(node.line, node.col, message, "step-id")
        uses = step.get("uses") if isinstance(step, Map) else None
        if isinstance(uses, Scalar) and uses.text and not is_action_reference(uses.text):
            message = f"Expected format {{org}}/{{repo}}[/path]@ref. Actual '{uses.text}'"
            sink.add(uses.line, uses.col, message, "uses")


def check_step_kinds(steps: Seq, sink: Sink) -> None:
    """A workflow step without `run` and `uses` is reported where the step starts, as GitHub's
    converter does ("every step must define a `uses` or `run` key") besides any schema error
    on the step's own keys, which may sit on a later line (`- name: x` then `wait: y`)."""
    for step in steps.items:
        if isinstance(step, Map) and step.get("run") is None and step.get("uses") is None:
            sink.add(step.line, step.col, "Expected one of uses or run to be defined", "step-kind")


def is_action_reference(uses: str) -> bool:
    """`./path`, `docker://image`, or `owner/repo[/path]@ref` (GitHub's accepted forms)."""
    if uses.startswith(("./", ".\\", "docker://")) or "${{" in uses:
        return True
    name, at, ref = uses.partition("@")
    parts = name.split("/")
    return bool(at and ref and len(parts) >= 2 and parts[0] and parts[1])


def check_composite_steps(steps: Seq, sink: Sink) -> None:
    """Composite actions: ids as above, and every `run` step names its `shell`."""
    check_steps(steps, sink)
    for step in steps.items:
        if isinstance(step, Map) and step.get("run") is not None and step.get("shell") is None:
            sink.add(step.line, step.col, "Required property is missing: shell", "required")
