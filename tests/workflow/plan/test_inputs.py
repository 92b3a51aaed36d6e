"""Typed inputs: `--input K=V` for workflow_dispatch and `with:` for workflow_call."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.workflow.model import InputSpec, Raw
from conveyor.workflow.plan.errors import PlanError
from conveyor.workflow.plan.inputs import call_inputs, dispatch_inputs, render, undeclared


def specs(*items: InputSpec) -> dict[str, InputSpec]:
    return {spec.name: spec for spec in items}


DISPATCH = specs(
    InputSpec(name="flag", type="boolean"),
    InputSpec(name="count", type="number", default=3),
    InputSpec(name="level", type="choice", options=("info", "debug"), default="info"),
    InputSpec(name="env", type="environment"),
    InputSpec(name="name", type="string", default="world"),
)


@pytest.mark.parametrize(
    ("given", "typed", "strings"),
    [
        (
            {},
            {"flag": False, "count": 3, "level": "info", "env": "", "name": "world"},
            {"flag": "false", "count": "3", "level": "info", "env": "", "name": "world"},
        ),
        (
            {"flag": "true", "count": "2.5", "level": "debug", "env": "prod", "name": "x"},
            {"flag": True, "count": 2.5, "level": "debug", "env": "prod", "name": "x"},
            {"flag": "true", "count": "2.5", "level": "debug", "env": "prod", "name": "x"},
        ),
        (
            {"flag": "FALSE", "count": "-7"},
            {"flag": False, "count": -7, "level": "info", "env": "", "name": "world"},
            {"flag": "false", "count": "-7", "level": "info", "env": "", "name": "world"},
        ),
    ],
)
def test_dispatch_coerces_and_fills_defaults(
    given: dict[str, str], typed: dict[str, Raw], strings: dict[str, str]
) -> None:
    resolved = dispatch_inputs(DISPATCH, given)
    assert resolved.typed == typed
    assert resolved.strings == strings
    assert all(type(resolved.typed[k]) is type(v) for k, v in typed.items())


@pytest.mark.parametrize(
    ("given", "message", "hint"),
    [
        ({"flag": "yes"}, "--input flag: expected true or false, got 'yes'", "--input flag=true"),
        ({"count": "many"}, "--input count: expected a number, got 'many'", "--input count=42"),
        ({"count": "nan"}, "expected a number", "--input count=42"),
        (
            {"level": "trace"},
            "'trace' is not one of the options (info, debug)",
            "--input level=info",
        ),
        ({"nope": "1"}, "--input nope: the workflow declares no such input", "remove --input nope"),
    ],
)
def test_dispatch_errors_name_the_flag(given: dict[str, str], message: str, hint: str) -> None:
    with pytest.raises(PlanError) as info:
        dispatch_inputs(DISPATCH, given)
    assert message in info.value.message
    assert info.value.hint is not None
    assert hint in info.value.hint


def test_dispatch_required_input_missing() -> None:
    with pytest.raises(PlanError, match="required input 'tag' was not given") as info:
        dispatch_inputs(specs(InputSpec(name="tag", required=True)), {})
    assert info.value.hint == "pass --input tag=VALUE"


def test_dispatch_required_input_with_default_uses_the_default() -> None:
    spec = specs(InputSpec(name="tag", required=True, default="v1"))
    assert dispatch_inputs(spec, {}).typed == {"tag": "v1"}


def test_dispatch_boolean_default_given_as_string() -> None:
    spec = specs(InputSpec(name="b", type="boolean", default="true"))
    assert dispatch_inputs(spec, {}).typed == {"b": True}


CALL = specs(
    InputSpec(name="s", type="string"),
    InputSpec(name="n", type="number"),
    InputSpec(name="b", type="boolean"),
    InputSpec(name="d", type="string", default="dflt"),
)


def test_call_inputs_defaults_by_type() -> None:
    assert call_inputs(CALL, {}, where="ci.yml") == {"s": "", "n": 0, "b": False, "d": "dflt"}


def test_call_inputs_keep_types() -> None:
    got = call_inputs(CALL, {"s": "x", "n": 1.5, "b": True}, where="ci.yml")
    assert got == {"s": "x", "n": 1.5, "b": True, "d": "dflt"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"n": "3"}, "with.n: expected a number, got '3'"),
        ({"n": True}, "with.n: expected a number"),
        ({"b": "true"}, "with.b: expected a boolean, got 'true'"),
        ({"s": ["a"]}, "with.s: expected a string"),
        ({"zz": 1}, "Invalid input, zz is not defined in the referenced workflow."),
    ],
)
def test_call_inputs_type_mismatch(given: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=None) as info:
        call_inputs(CALL, given, where="jobs.call")
    assert message in info.value.message
    assert info.value.message.startswith("jobs.call: ")


def test_call_inputs_required_missing() -> None:
    with pytest.raises(PlanError) as info:
        call_inputs(specs(InputSpec(name="tag", required=True)), {}, where="jobs.call")
    assert "Input tag is required, but not provided while calling." in info.value.message


def test_call_inputs_scalars_become_strings_for_string_inputs() -> None:
    assert call_inputs(specs(InputSpec(name="v")), {"v": 3.0}, where="x") == {"v": "3"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (None, ""), (2.0, "2"), (2.5, "2.5"), ("s", "s")],
)
def test_render(value: Raw, text: str) -> None:
    assert render(value) == text


def test_unknown_inputs_may_be_allowed_when_several_workflows_share_the_flags() -> None:
    resolved = dispatch_inputs(DISPATCH, {"other": "1", "flag": "true"}, allow_unknown=True)
    assert "other" not in resolved.typed
    assert resolved.typed["flag"] is True
    assert undeclared([DISPATCH, specs(InputSpec(name="other"))], {"other": "1", "x": "2"}) == ["x"]
