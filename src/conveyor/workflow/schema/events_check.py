"""GitHub's rules on `on:` beyond the schema: one of `branches`/`branches-ignore` (and of
`tags`/`tags-ignore`, `paths`/`paths-ignore`) per event, valid cron schedules, and
`workflow_dispatch` inputs whose `choice` lists options and whose default has the input's
type (GitHub's converter, `workflow-dispatch.ts`).

Called by `conveyor.workflow.load`. Pure.
"""

from __future__ import annotations

from conveyor.workflow.schema.cron import MESSAGE as CRON_MESSAGE
from conveyor.workflow.schema.cron import is_valid_cron
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
            _check_inputs(config.get("inputs"), sink, dispatch=key.text == "workflow_dispatch")


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
    for entry in schedule.items:
        cron = entry.get("cron") if isinstance(entry, Map) else None
        if not isinstance(cron, Scalar) or not cron.text:
            continue
        if "${{" not in cron.text and not is_valid_cron(cron.text):
            sink.add(cron.line, cron.col, CRON_MESSAGE, "cron")


def _check_inputs(inputs: Node | None, sink: Sink, *, dispatch: bool) -> None:
    if not isinstance(inputs, Map):
        return
    for _, spec in inputs.items():
        if not isinstance(spec, Map):
            continue
        kind = spec.get("type")
        is_choice = isinstance(kind, Scalar) and kind.value == "choice"
        options = spec.get("options")
        if is_choice and (options is None or (isinstance(options, Seq) and not options.items)):
            sink.add(spec.line, spec.col, "Missing 'options' for choice input", "inputs")
        elif options is not None and not is_choice:
            sink.add(
                spec.line,
                spec.col,
                "Input type is not 'choice', but 'options' is defined",
                "inputs",
            )
        if dispatch:
            _check_default_type(spec, kind, sink)


#: input type -> the token type its default must have (number defaults are not checked)
_DEFAULT_TOKEN = {"boolean": "BooleanToken", "string": "StringToken", "choice": "StringToken"}
_DEFAULT_TOKEN["environment"] = "StringToken"


def _token_name(value: object) -> str:
    if isinstance(value, bool):
        return "BooleanToken"
    if isinstance(value, int | float):
        return "NumberToken"
    return "NullToken" if value is None else "StringToken"


def _check_default_type(spec: Map, kind: Node | None, sink: Sink) -> None:
    default = spec.get("default")
    type_name = kind.value if isinstance(kind, Scalar) else "string"
    want = _DEFAULT_TOKEN.get(str(type_name))
    if not isinstance(default, Scalar) or want is None:
        return
    got = _token_name(default.value)
    if got != want:
        sink.add(
            default.line,
            default.col,
            f"Unexpected type '{got}' encountered while reading 'input default'. "
            f"The type '{want}' was expected.",
            "inputs",
        )
