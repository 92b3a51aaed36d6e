"""Typed inputs: `--input K=V` for workflow_dispatch and `with:` for workflow_call.

Called by the run layer once per triggered workflow (dispatch) and once per reusable-workflow
call. GitHub gives a workflow two views of the same inputs: `inputs.<name>` keeps the declared
type (a boolean is a bool), while `github.event.inputs.<name>` is always a string. Defaults
apply to inputs that were not given; an input without a default is `false` (boolean), `0`
(number, workflow_call only) or `''` (string). Errors name the flag or key and say what to do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conveyor.workflow.expr.values import Value
from conveyor.workflow.model import InputSpec
from conveyor.workflow.plan.errors import PlanError

CALL_TYPES = frozenset({"string", "number", "boolean"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedInputs:
    """`typed` is the `inputs` context; `strings` is `github.event.inputs`."""

    typed: dict[str, Value]
    strings: dict[str, str]


def dispatch_inputs(
    specs: Mapping[str, InputSpec],
    given: Mapping[str, str],
    *,
    flag: str = "--input",
    allow_unknown: bool = False,
) -> ResolvedInputs:
    """Coerce the CLI's string values to the declared types and fill in the defaults.

    An undeclared input is an error, as GitHub's API rejects it; a caller dispatching
    several workflows at once passes `allow_unknown=True` and checks that every `--input`
    is declared by at least one of them (`undeclared()`).
    """
    unknown = sorted(set(given) - set(specs))
    if unknown and not allow_unknown:
        declared = ", ".join(specs) or "none"
        raise PlanError(
            f"{flag} {unknown[0]}: the workflow declares no such input (declared: {declared})",
            hint=f"remove {flag} {unknown[0]} or declare it under on.workflow_dispatch.inputs",
        )
    typed: dict[str, Value] = {}
    strings: dict[str, str] = {}
    for name, spec in specs.items():
        if name in given:
            value = _from_text(spec, given[name], f"{flag} {name}")
        elif spec.default is not None:
            value = _from_default(spec, spec.default, f"{flag} {name}")
        elif spec.required:
            raise PlanError(
                f"{flag} {name}: required input '{name}' was not given",
                hint=f"pass {flag} {name}=VALUE",
            )
        else:
            value = False if spec.type == "boolean" else ""
        typed[name] = value
        keep_text = name in given and spec.type != "boolean"
        strings[name] = given[name] if keep_text else render(value)
    return ResolvedInputs(typed=typed, strings=strings)


def undeclared(all_specs: Sequence[Mapping[str, InputSpec]], given: Mapping[str, str]) -> list[str]:
    """Names in `given` that no workflow in `all_specs` declares (sorted)."""
    return sorted(name for name in given if not any(name in specs for specs in all_specs))


def call_inputs(
    specs: Mapping[str, InputSpec], given: Mapping[str, object], *, where: str
) -> dict[str, Value]:
    """Check a reusable-workflow call's evaluated `with:` values against `on.workflow_call`."""
    for name in given:
        if name not in specs:
            raise PlanError(
                f"{where}: Invalid input, {name} is not defined in the referenced workflow.",
                hint=f"remove with.{name} or declare it under on.workflow_call.inputs",
            )
    typed: dict[str, Value] = {}
    for name, spec in specs.items():
        if name in given:
            typed[name] = _typed_value(spec, given[name], f"{where}: with.{name}")
        elif spec.default is not None:
            typed[name] = _typed_value(spec, spec.default, f"{where}: default of input {name}")
        elif spec.required:
            raise PlanError(
                f"{where}: Input {name} is required, but not provided while calling.",
                hint=f"add with.{name} to the calling job",
            )
        else:
            typed[name] = {"boolean": False, "number": 0}.get(spec.type, "")
    return typed


def render(value: object) -> str:
    """A typed input value as `github.event.inputs` shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _from_text(spec: InputSpec, text: str, what: str) -> Value:
    if spec.type == "boolean":
        if text.lower() not in ("true", "false"):
            raise PlanError(
                f"{what}: expected true or false, got '{text}'",
                hint=f"pass {what}=true or {what}=false",
            )
        return text.lower() == "true"
    if spec.type == "number":
        return _number(text, what)
    if spec.type == "choice" and text not in spec.options:
        raise PlanError(
            f"{what}: '{text}' is not one of the options ({', '.join(spec.options)})",
            hint=f"pass one of: {', '.join(f'{what}={o}' for o in spec.options)}",
        )
    return text


def _from_default(spec: InputSpec, default: object, what: str) -> Value:
    if spec.type == "boolean" and isinstance(default, bool):
        return default
    if spec.type == "number" and isinstance(default, (int, float)):
        return default
    return _from_text(spec, render(default), f"{what} (default)")


def _typed_value(spec: InputSpec, value: object, what: str) -> Value:
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise PlanError(f"{what}: expected a boolean, got {value!r}", hint="pass true or false")
        return value
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PlanError(f"{what}: expected a number, got {value!r}", hint="pass a number")
        return value
    if isinstance(value, (dict, list)):
        raise PlanError(f"{what}: expected a string, got {type(value).__name__}")
    return value if isinstance(value, str) else render(value)


def _number(text: str, what: str) -> int | float:
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if math.isnan(value) or math.isinf(value):
        raise PlanError(f"{what}: expected a number, got '{text}'", hint=f"pass {what}=42")
    return (
        int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value
    )
