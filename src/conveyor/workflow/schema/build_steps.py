"""Steps of a job or of a composite action, as `conveyor.workflow.model.Step`, with the ids
GitHub generates for anonymous steps (`__run`, `__run_2`, `__actions_checkout`, …).

Called by `build_workflow` and `build_action`. Pure.
"""

from __future__ import annotations

from conveyor.workflow.model import Raw, Step
from conveyor.workflow.schema.convert import at, field, raw, raw_map, text
from conveyor.workflow.schema.ids import StepIds
from conveyor.workflow.schema.nodes import Map, Node, Seq


def build_steps(node: Node | None, file: str) -> tuple[Step, ...]:
    """Explicit ids are registered first, so generated ones never collide with them."""
    if not isinstance(node, Seq):
        return ()
    items = [item for item in node.items if isinstance(item, Map)]
    ids = StepIds()
    explicit = [text(item.get("id")) or None for item in items]
    for value in explicit:
        if value:
            ids.add_known(value)
    steps = []
    for index, (item, user_id) in enumerate(zip(items, explicit, strict=True)):
        uses = text(item.get("uses"))
        step_id = user_id or ids.generate(uses if item.get("run") is None else None)
        steps.append(_step(item, step_id, user_id is not None, index, file))
    return tuple(steps)


def _step(item: Map, step_id: str, explicit: bool, index: int, file: str) -> Step:
    condition = item.get("if")
    return Step(
        id=step_id,
        explicit_id=explicit,
        index=index,
        name=raw(item.get("name")),
        if_=text(condition) if condition is not None else None,
        run=text(item.get("run")),
        uses=text(item.get("uses")),
        with_=raw_map(item.get("with")),
        env=raw_map(item.get("env")),
        shell=text(item.get("shell")),
        working_directory=text(item.get("working-directory")),
        continue_on_error=_or(item, "continue-on-error", False),
        timeout_minutes=raw(field(item, "timeout-minutes")),
        loc=at(file, item),
    )


def _or(item: Map, key: str, default: Raw) -> Raw:
    value = item.get(key)
    return default if value is None else raw(value)
