"""YAML read the way GitHub reads it: 1.2 core scalars, marks, tags, undefined aliases."""

from __future__ import annotations

import math

import pytest

from conveyor.workflow.schema.ids import StepIds, invalid_id_message
from conveyor.workflow.schema.nodes import Map, Scalar, parse_yaml
from conveyor.workflow.schema.problems import Sink
from conveyor.workflow.schema.scalars import literal_text, resolve_plain


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("~", None),
        ("Null", None),
        ("true", True),
        ("FALSE", False),
        ("yes", "yes"),
        ("on", "on"),
        ("42", 42),
        ("-7", -7),
        ("0o17", 15),
        ("0x1F", 31),
        ("12_345", "12_345"),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1.2e+2", 120.0),
        ("-.inf", -math.inf),
        ("1.2.3", "1.2.3"),
        ("v1", "v1"),
    ],
)
def test_plain_scalars_follow_yaml_1_2_core(text: str, value: object) -> None:
    assert resolve_plain(text) == value


def test_nan_is_a_float() -> None:
    value = resolve_plain(".NaN")
    assert isinstance(value, float)
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (3, "3"),
        (3.0, "3"),
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
    ],
)
def test_literal_text_is_githubs_string_form(value: object, text: str) -> None:
    assert literal_text(value) == text  # type: ignore[arg-type]


def parse(text: str) -> tuple[object, list[str]]:
    sink = Sink("f.yml")
    node = parse_yaml(text, sink)
    return node, [f"{p.location.line}:{p.location.col} {p.message}" for p in sink.problems]


def test_nodes_keep_line_and_column() -> None:
    node, problems = parse("a:\n  b: 'x'\n")
    assert problems == []
    assert isinstance(node, Map)
    inner = node.get("a")
    assert isinstance(inner, Map)
    value = inner.get("b")
    assert isinstance(value, Scalar)
    assert (value.line, value.col, value.value, value.style) == (2, 6, "x", "'")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: *x\nb: &x 1\n", "1:4 Invalid YAML: found undefined alias 'x'"),
        ("a: &x [1, *x]\n", "1:11 Invalid YAML: found undefined alias 'x'"),
        ("a: !!bool yes\n", "1:4 The value 'yes' on line 1 and column 4 is invalid for the type"),
        ("a: !!int '3'\n", "1:4 The scalar style 'SingleQuoted' on line 1 and column 4 is not"),
        ("a: !custom 3\n", "1:4 Unexpected tag '!custom'"),
        # at the second document's `---`, where GitHub's parser reports it
        ("a: 1\n---\nb: 2\n", "2:1 Multiple YAML documents are not supported"),
        ("a: [1\n", "2:1 Invalid YAML"),
    ],
)
def test_unsupported_yaml_is_reported(text: str, problem: str) -> None:
    _, problems = parse(text)
    assert any(p.startswith(problem) for p in problems), problems


def test_explicit_core_tags_are_honoured() -> None:
    node, problems = parse("a: !!str 5\nb: !!float 1\nc: !!null ~\n")
    assert problems == []
    assert isinstance(node, Map)
    a, b, c = node.get("a"), node.get("b"), node.get("c")
    assert isinstance(a, Scalar)
    assert a.value == "5"
    assert isinstance(b, Scalar)
    assert isinstance(b.value, float)
    assert b.value == 1.0
    assert isinstance(c, Scalar)
    assert c.value is None


@pytest.mark.parametrize(
    ("uses", "expected"),
    [
        (
            [None, None, "actions/checkout@v4", "actions/checkout@v3"],
            ["__run", "__run_2", "__actions_checkout", "__actions_checkout_2"],
        ),
        (
            ["docker://alpine:3.19", "./local", "owner/repo/sub/dir@main", "weird"],
            ["__alpine_3_19", "__self", "__owner_repo", "__run"],
        ),
        (["1org/x@v1", "Actions/Setup-Node@v2"], ["__1org_x", "__Actions_Setup-Node"]),
    ],
)
def test_generated_step_ids(uses: list[str | None], expected: list[str]) -> None:
    ids = StepIds()
    assert [ids.generate(u) for u in uses] == expected


def test_generated_ids_avoid_known_ones() -> None:
    ids = StepIds()
    assert ids.add_known("__run") is not None  # reserved for generated ids
    assert ids.add_known("run") is None
    assert ids.generate(None) == "__run"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("build", True),
        ("_b-1", True),
        ("1b", False),
        ("-b", False),
        ("a.b", False),
        ("", False),
        ("a" * 99, True),
        ("a" * 100, False),
    ],
)
def test_id_rules(value: str, valid: bool) -> None:
    assert (invalid_id_message(value) is None) is valid
