"""The public API other streams use: templates, conditions, evaluate_raw, lint checks, coercions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conveyor.workflow.expr import (
    EvalContext,
    ExpressionError,
    Function,
    check_allowed,
    compile_condition,
    compile_expression,
    compile_template,
    evaluate_raw,
    is_truthy,
    to_json,
    to_str,
)


def status(result: str) -> dict[str, Function]:
    def answer(name: str) -> Function:
        return Function(name=name, min_args=0, max_args=255, call=lambda _: result == name)

    functions = {name: answer(name) for name in ("success", "failure", "cancelled")}
    functions["always"] = Function(name="always", min_args=0, max_args=0, call=lambda _: True)
    return functions


CTX = EvalContext(
    {
        "github": {"ref": "refs/heads/main", "event": {"number": 5}},
        "matrix": {"n": 3, "os": "linux", "list": [1, 2]},
        "env": {"EMPTY": ""},
    },
    status("success"),
)
FAILED = EvalContext(CTX.contexts, status("failure"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("${{ matrix.n }}", 3),  # exactly one expression keeps its type
        ("  ${{ matrix.n }}  ", "  3  "),
        ("${{ matrix.list }}", [1, 2]),
        ("a ${{ matrix.n }} b", "a 3 b"),
        ("${{ matrix.os }}-${{ matrix.n }}", "linux-3"),
        ("{0} ${{ matrix.os }} {{x}}", "{0} linux {{x}}"),  # braces in literal text stay
        ("${{ '}}' }}", "}}"),  # `}}` inside a string does not close the expression
        ("${{ env.MISSING }}", None),
        ("x${{ env.MISSING }}y", "xy"),
        ("${{ 1 == 1 }}", True),
    ],
)
def test_template(text: str, expected: Any) -> None:
    assert compile_template(text).evaluate(CTX) == expected


def test_template_reports_literal_and_expressions() -> None:
    template = compile_template("a ${{ matrix.n }} ${{ github.ref }}")
    assert not template.is_literal
    assert [e.text for e in template.expressions] == ["matrix.n", "github.ref"]
    assert compile_template("no expression").is_literal


@pytest.mark.parametrize("text", ["${{ matrix.n", "a ${{ }} b", "${{ 1 2 }}"])
def test_bad_templates_raise(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_template(text)


@pytest.mark.parametrize(
    ("text", "ctx", "expected"),
    [
        ("github.ref == 'refs/heads/main'", CTX, True),
        ("${{ github.ref == 'refs/heads/main' }}", CTX, True),
        ("github.ref == 'refs/heads/main'", FAILED, False),  # implicit success() &&
        ("", CTX, True),
        ("", FAILED, False),
        ("always()", FAILED, True),
        ("failure()", FAILED, True),
        ("failure() || github.ref == 'x'", CTX, False),
        ("${{ failure() }}", FAILED, True),
        ("!cancelled()", FAILED, True),
        ("matrix.n", CTX, 3),
    ],
)
def test_condition(text: str, ctx: EvalContext, expected: Any) -> None:
    assert compile_condition(text).evaluate(ctx) == expected


def test_condition_reports_status_functions() -> None:
    assert compile_condition("always()").has_status_function
    assert compile_condition("github.ref").has_status_function  # the implicit success()
    assert not compile_expression("github.ref").has_status_function


def test_expression_reports_names_and_functions() -> None:
    expr = compile_expression("contains(GitHub.ref, matrix.os) && hashFiles('a', 'b') || Success()")
    assert expr.context_names == {"github", "matrix"}
    assert expr.functions_used == {("contains", 2), ("hashfiles", 2), ("success", 0)}


def test_compiled_expressions_are_cached_by_text() -> None:
    assert compile_expression("matrix.n") is compile_expression("matrix.n")
    assert compile_template("a ${{ matrix.n }}") is compile_template("a ${{ matrix.n }}")


def test_evaluate_raw_evaluates_keys_and_values() -> None:
    """Keys too: GitHub's template evaluator turns an expression key into a string."""
    raw = {"${{ matrix.os }}": ["${{ matrix.n }}", 1, None, {"k": "v-${{ matrix.n }}"}]}
    assert evaluate_raw(raw, CTX) == {"linux": [3, 1, None, {"k": "v-3"}]}


JOB_IF = ["github", "inputs", "vars", "needs", "always(0,0)", "failure(0,MAX)", "success(0,MAX)"]
STEP_ENV = ["github", "env", "secrets", "hashFiles(1,255)"]


def at(text: str, position: int, problem: str) -> str:
    return f"{problem}. Located at position {position} within expression: {text}"


@pytest.mark.parametrize(
    ("text", "allowed", "problems"),
    [
        ("github.ref && needs.a.result", JOB_IF, []),
        (
            "x == 1 || secrets.T",
            JOB_IF,
            [at("x == 1 || secrets.T", 1, "Unrecognized named-value: 'x'")],
        ),
        (
            "secrets.T != ''",
            JOB_IF,
            [at("secrets.T != ''", 1, "Unrecognized named-value: 'secrets'")],
        ),
        ("hashFiles('x')", JOB_IF, [at("hashFiles('x')", 1, "Unrecognized function: 'hashFiles'")]),
        ("always(1)", JOB_IF, [at("always(1)", 7, "Too many parameters supplied: '('")]),
        ("success('a', 'b')", JOB_IF, []),
        ("hashFiles('a') && toJSON(env)", STEP_ENV, []),
    ],
)
def test_check_allowed(text: str, allowed: list[str], problems: list[str]) -> None:
    assert check_allowed(compile_expression(text), allowed) == problems


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("${{ matrix.x }}-${{ secrets.T }}", ["Unrecognized named-value: 'matrix'"]),
        ("${{ github.ref }}-${{ secrets.T }}", []),
        ("${{ github.ref }}-${{ hashFiles('x') }}", ["Unrecognized function: 'hashFiles'"]),
    ],
)
def test_check_allowed_on_templates(text: str, problems: list[str]) -> None:
    compiled = compile_template(text).compiled
    assert compiled is not None
    assert check_allowed(compiled, ["github", "secrets"]) == problems


def test_check_allowed_on_conditions() -> None:
    assert check_allowed(compile_condition("needs.a.result == 'x'"), JOB_IF) == []
    assert check_allowed(compile_condition("env.X"), JOB_IF) == ["Unrecognized named-value: 'env'"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (1, "1"),
        (1.0, "1"),
        (-0.0, "0"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (1e15, "1E+15"),
        (123456789012345678, "1.23456789012346E+17"),
        (0.00001, "1E-05"),
        (0.0001, "0.0001"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (10**400, "Infinity"),
        ([1], "Array"),
        ({"a": 1}, "Object"),
    ],
)
def test_to_str(value: Any, text: str) -> None:
    assert to_str(value) == text


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (None, False),
        (0, False),
        (-0.0, False),
        (math.nan, False),
        ("", False),
        (False, False),
        ("false", True),
        ("0", True),
        ([], True),
        ({}, True),
        (0.1, True),
        (True, True),
    ],
)
def test_is_truthy(value: Any, truthy: bool) -> None:
    assert is_truthy(value) is truthy


def test_to_json_is_githubs_pretty_form() -> None:
    value = {"a": [1, 2.5, None], "b": {}, "c": [], "d": 'q"\n\u2028', "e": True}
    expected = (
        '{\n  "a": [\n    1,\n    2.5,\n    null\n  ],\n  "b": {},\n  "c": [],\n'
        '  "d": "q\\"\\n\\u2028",\n  "e": true\n}'
    )
    assert to_json(value) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a" * 21001, "parsing"),
        ("!" * 50 + "true", "parsing"),
        ("format('{0}', " * 50 + "1" + ")" * 50, "parsing"),
    ],
)
def test_limits(text: str, kind: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert caught.value.kind == kind


def test_depth_counts_nodes_not_parentheses() -> None:
    assert compile_expression("(" * 200 + "1" + ")" * 200).evaluate(CTX) == 1


def test_memory_limit_is_githubs() -> None:
    big = EvalContext({"s": "x" * 300_000})
    assert compile_expression("format('{0}', s)").evaluate(big) == "x" * 300_000
    with pytest.raises(ExpressionError, match="maximum allowed memory"):
        compile_expression("format('{0}{0}', s)").evaluate(big)


def test_errors_carry_column_and_kind() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("github.ref == @")
    assert (caught.value.kind, caught.value.column) == ("lexing", 15)


def test_missing_extension_function_is_an_evaluation_error() -> None:
    with pytest.raises(ExpressionError, match="Unrecognized function: 'hashFiles'") as caught:
        compile_expression("hashFiles('x')").evaluate(EvalContext({}))
    assert caught.value.kind == "evaluation"


def test_extension_arity_is_checked_at_evaluation() -> None:
    ctx = EvalContext({}, {"always": Function(name="always", min_args=0, max_args=0, call=bool)})
    with pytest.raises(ExpressionError, match="Too many parameters supplied: 'always'"):
        compile_expression("always(1)").evaluate(ctx)


MIXED = EvalContext(
    {
        "x": {
            "a": [{"m": 1}, [5, 6], "str", None, {"M": 2}],
            "b": [[1, 2], [3]],
            "o": {"k1": {"v": 1}, "k2": {"v": 2}},
        }
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x.a.*.m", [1, 2]),  # objects only, case-insensitive, misses dropped
        ("x.a.*['0']", [5]),  # a numeric string indexes arrays
        ("x.a.*[1]", [6]),
        ("x.b.*.*", [1, 2, 3]),  # a wildcard on a filtered array flattens one level
        ("x.o.*.v", [1, 2]),
        ("x.missing.*", []),
        ("x.a[*].m", [1, 2]),
        ("x.a.*.m[0]", []),  # numbers are not collections
        ("x.a[1.9][1]", 6),  # indexes are floored
        ("x.a[-1]", None),
        ("x.a['1'][0]", 5),
        ("x.a[null]", {"m": 1}),  # null is 0
        ("x.a[true]", [5, 6]),
        ("x.o[fromJSON('[]')]", None),
    ],
)
def test_index_and_filters(text: str, expected: Any) -> None:
    assert compile_expression(text).evaluate(MIXED) == expected


def test_lazy_arguments_as_the_runner() -> None:
    bad = "format('{')"
    assert compile_expression(f"contains(fromJSON('{{}}'), {bad})").evaluate(CTX) is False
    assert compile_expression(f"join(fromJSON('[1]'), {bad})").evaluate(CTX) == "1"
    assert compile_expression(f"env.MISSING[{bad}]").evaluate(CTX) is None
    assert compile_expression(f"false && {bad}").evaluate(CTX) is False
    with pytest.raises(ExpressionError):
        compile_expression(f"join(fromJSON('[1,2]'), {bad})").evaluate(CTX)
