"""GitHub's rules on a job's `steps:` beyond the schema: step ids (valid, not reserved,
unique without regard to case).

Called by `jobs_check` (workflow jobs) and `conveyor.workflow.load` (composite actions).
Pure.
"""

from __future__ import annotations

from conveyor.workflow.schema.ids import StepIds
from conveyor.workflow.schema.nodes import Map, Scalar, Seq
from conveyor.workflow.schema.problems import Sink


def check_steps(steps: Seq, sink: Sink) -> None:
    """Report bad or repeated step ids."""
    ids = StepIds()
    for step in steps.items:
        node = step.get("id") if isinstance(step, Map) else None
        if isinstance(node, Scalar) and node.text:
            message = ids.add_known(node.text)
            if message:
                sink.add(node.line, node.col, message, "step-id")


def check_composite_steps(steps: Seq, sink: Sink) -> None:
    """Composite actions: ids as above, and every `run` step names its `shell`."""
    check_steps(steps, sink)
    for step in steps.items:
        if isinstance(step, Map) and step.get("run") is not None and step.get("shell") is None:
            sink.add(step.line, step.col, "Required property is missing: shell", "required")
