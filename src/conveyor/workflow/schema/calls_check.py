"""Jobs that call a reusable workflow, checked against the called workflow's interface
(`on.workflow_call.inputs` / `secrets`): unknown inputs and secrets, required ones not
given, and literal inputs of the wrong type (`boolean`, `number`).

Called by `validate.check_workflow` when a resolver is given. Pure.
"""

from __future__ import annotations

from collections.abc import Callable

from conveyor.workflow.schema.limits import file_too_large
from conveyor.workflow.schema.nodes import Map, Node, Scalar, parse_yaml
from conveyor.workflow.schema.problems import Sink


def check_calls(root: Node, sink: Sink, resolve: Callable[[str], str | None]) -> None:
    jobs = root.get("jobs") if isinstance(root, Map) else None
    if not isinstance(jobs, Map):
        return
    for _, job in jobs.items():
        uses = job.get("uses") if isinstance(job, Map) else None
        if not isinstance(job, Map) or not isinstance(uses, Scalar) or not uses.text:
            continue
        callee_text = resolve(uses.text)
        if callee_text is None:
            if uses.text.startswith("./"):
                sink.add(uses.line, uses.col, "Unable to find reusable workflow", "reusable")
            continue
        too_large = file_too_large(callee_text)
        if too_large is not None:
            sink.add(uses.line, uses.col, f"{uses.text}: {too_large}", "file-size")
            continue
        call = _call_trigger(callee_text)
        if call is None:
            message = "workflow_call key is not defined in the referenced workflow."
            sink.add(uses.line, uses.col, message, "reusable")
            continue
        _check_inputs(job, uses, call.get("inputs"), sink)
        _check_secrets(job, uses, call.get("secrets"), sink)


def _call_trigger(text: str) -> Map | None:
    root = parse_yaml(text, Sink("callee"))
    on = root.get("on") if isinstance(root, Map) else None
    if isinstance(on, Scalar):
        return Map(pairs=(), line=0, col=0) if on.text == "workflow_call" else None
    if isinstance(on, Map):
        for key, value in on.items():
            if key.text == "workflow_call":
                return value if isinstance(value, Map) else Map(pairs=(), line=0, col=0)
        return None
    if on is not None and "workflow_call" in [getattr(i, "text", "") for i in on.items]:
        return Map(pairs=(), line=0, col=0)
    return None


def _declared(node: Node | None) -> dict[str, Node]:
    return {k.text.lower(): v for k, v in node.items()} if isinstance(node, Map) else {}


def _check_inputs(job: Map, uses: Scalar, inputs: Node | None, sink: Sink) -> None:
    declared = _declared(inputs)
    given = job.get("with")
    provided = {k.text.lower(): (k, v) for k, v in given.items()} if isinstance(given, Map) else {}
    for name, (key, value) in provided.items():
        spec = declared.get(name)
        if spec is None:
            message = f"Invalid input, {key.text} is not defined in the referenced workflow."
            sink.add(value.line, value.col, message, "reusable-input")
        elif isinstance(spec, Map) and isinstance(value, Scalar):
            _check_type(spec, value, sink)
    for name, spec in declared.items():
        required = spec.get("required") if isinstance(spec, Map) else None
        default = spec.get("default") if isinstance(spec, Map) else None
        is_required = isinstance(required, Scalar) and required.value is True
        if is_required and default is None and name not in provided:
            message = f"Input {name} is required, but not provided while calling."
            sink.add(uses.line, uses.col, message, "reusable-input")


def _check_type(spec: Map, value: Scalar, sink: Sink) -> None:
    kind = spec.get("type")
    expected = kind.text if isinstance(kind, Scalar) else "string"
    if isinstance(value.value, str) and "${{" in value.value:
        return
    ok = {
        "boolean": isinstance(value.value, bool),
        "number": isinstance(value.value, int | float) and not isinstance(value.value, bool),
    }.get(expected, True)
    if not ok:
        sink.add(value.line, value.col, f"Unexpected value '{value.text}'", "reusable-input")


def _check_secrets(job: Map, uses: Scalar, secrets: Node | None, sink: Sink) -> None:
    given = job.get("secrets")
    if isinstance(given, Scalar) and given.text == "inherit":
        return
    declared = _declared(secrets)
    provided = {k.text.lower(): (k, v) for k, v in given.items()} if isinstance(given, Map) else {}
    for name, (key, value) in provided.items():
        if name not in declared:
            message = f"Invalid secret, {key.text} is not defined in the referenced workflow."
            sink.add(value.line, value.col, message, "reusable-secret")
    for name, spec in declared.items():
        required = spec.get("required") if isinstance(spec, Map) else None
        if isinstance(required, Scalar) and required.value is True and name not in provided:
            message = f"Secret {name} is required, but not provided while calling."
            sink.add(uses.line, uses.col, message, "reusable-secret")
