"""Mapping keys and `${{ insert }}` evaluated as GitHub's template evaluator does."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.workflow.expr import EvalContext, ExpressionError, evaluate_mapping, evaluate_raw

CTX = EvalContext(
    contexts={
        "needs": {"x": {"outputs": {"env": '{"B": "2", "C": "3"}', "key": "os", "n": "7"}}},
        "matrix": {"n": 2, "flag": True, "list": [1]},
    }
)

EVALUATED = [
    pytest.param({"A": "1"}, {"A": "1"}, id="literal keys kept"),
    pytest.param(
        {"A": "1", "${{ insert }}": "${{ fromJSON(needs.x.outputs.env) }}"},
        {"A": "1", "B": "2", "C": "3"},
        id="insert merges an expression's mapping",
    ),
    pytest.param(
        {"${{ insert }}": {"D": "${{ matrix.n }}"}, "E": "e"},
        {"D": 2, "E": "e"},
        id="insert merges a literal mapping, evaluating its values, in order",
    ),
    pytest.param({"${{ insert }}": "${{ fromJSON('{}') }}"}, {}, id="insert of an empty mapping"),
    pytest.param({"${{ needs.x.outputs.key }}": ["a"]}, {"os": ["a"]}, id="key from needs outputs"),
    pytest.param(
        {"K_${{ matrix.n }}": "v", "${{ matrix.flag }}": "b"},
        {"K_2": "v", "true": "b"},
        id="keys take GitHub's string form",
    ),
    pytest.param({"${{ null }}": "v"}, {"": "v"}, id="null key is empty"),
    pytest.param(
        {"${{ insert }}": "${{ fromJSON('{\"a\":1}') }}", "${{ insert  }}": {"b": "2"}},
        {"a": 1, "b": "2"},
        id="two inserts",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), EVALUATED)
def test_mapping_keys_and_inserts_evaluate(raw: dict[str, Any], expected: dict[str, Any]) -> None:
    assert evaluate_mapping(raw, CTX) == expected


def test_nested_mappings_evaluate_their_keys_too() -> None:
    raw = {"matrix": {"${{ needs.x.outputs.key }}": [1], "include": [{"${{ 'k' }}": 1}]}}
    assert evaluate_raw(raw, CTX) == {"matrix": {"os": [1], "include": [{"k": 1}]}}


FAILING = [
    pytest.param({"${{ insert }}": "${{ matrix.n }}"}, "Expected a mapping", id="insert a number"),
    pytest.param({"${{ insert }}": "text"}, "Expected a mapping", id="insert a string"),
    pytest.param({"${{ matrix.list }}": "v"}, "Expected a string", id="array key"),
    pytest.param(
        {"B": "x", "${{ insert }}": "${{ fromJSON(needs.x.outputs.env) }}"},
        "'B' is already defined",
        id="insert redefines a key",
    ),
    pytest.param(
        {"os": "x", "${{ needs.x.outputs.key }}": "y"},
        "'os' is already defined",
        id="computed key redefines a key",
    ),
    pytest.param(
        {"c": "x", "${{ insert }}": "${{ fromJSON(needs.x.outputs.env) }}"},
        "'C' is already defined",
        id="keys compare case-insensitively",
    ),
]


@pytest.mark.parametrize(("raw", "message"), FAILING)
def test_bad_inserts_and_keys_fail_with_githubs_message(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate_mapping(raw, CTX)
    assert caught.value.message == message
