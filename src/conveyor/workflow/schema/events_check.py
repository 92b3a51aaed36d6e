"""GitHub's rules on `on:` beyond the schema: one of `branches`/`branches-ignore` (and of
`tags`/`tags-ignore`, `paths`/`paths-ignore`) per event, valid cron schedules, and
`choice` inputs that list their options.

Called by `conveyor.workflow.load`. Pure.
"""

from __future__ import annotations

from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq
from conveyor.workflow.schema.problems import Sink

_EXCLUSIVE = ("branches", "tags", "paths")


def check_events(root: Node, sink: Sink) -> None:
    """Check the `on:` mapping of a workflow's root."""
    on = root.get("on") if isinstance(root, Map) else None
    if not isinstance(on, Map):
        return
    for key, config in on.items():
        if key.text == "schedule" and isinstance(config, Seq):
            _check_schedule(config, sink)
        if isinstance(config, Map):
            _check_filters(key.text, config, sink)
            _check_inputs(config.get("inputs"), sink)


def _check_filters(event: str, config: Map, sink: Sink) -> None:
    for name in _EXCLUSIVE:
        positive, negative = config.get(name), config.get(f"{name}-ignore")
        if positive is None or negative is None:
            continue
        keys = [k for k, _ in config.items() if k.text in (name, f"{name}-ignore")]
        second = keys[-1]
        sink.add(
            second.line,
            second.col,
            f"Event '{event}' may define only one of '{name}' and '{name}-ignore'",
            "filters",
        )


def _check_schedule(schedule: Seq, sink: Sink) -> None:
    from conveyor.workflow.schema.cron import MESSAGE as CRON_MESSAGE  # only `on: schedule`
    from conveyor.workflow.schema.cron import is_valid_cron

    for entry in schedule.items:
        cron = entry.get("cron") if isinstance(entry, Map) else None
        if not isinstance(cron, Scalar) or not cron.text:
            continue
        if "${{" not in cron.text and not is_valid_cron(cron.text):
            sink.add(cron.line, cron.col, CRON_MESSAGE, "cron")


def _check_inputs(inputs: Node | None, sink: Sink) -> None:
    if not isinstance(inputs, Map):
        return
    for _, spec in inputs.items():
        if not isinstance(spec, Map):
            continue
        kind = spec.get("type")
        is_choice = isinstance(kind, Scalar) and kind.value == "choice"
        options = spec.get("options")
        if is_choice and options is None:
            sink.add(spec.line, spec.col, "Missing 'options' for choice input", "inputs")
        elif options is not None and not is_choice:
            sink.add(
                spec.line,
                spec.col,
                "Input type is not 'choice', but 'options' is defined",
                "inputs",
            )
