"""Property tests: generated expressions and contexts keep the language's invariants.

- evaluation raises nothing but `ExpressionError`;
- printing a tree and parsing the text gives the same tree (`to_text` round trip);
- `!!x` is the truthiness of `x`;
- `x == x` for primitives other than NaN, and `==` is symmetric.
Bounded: ~200 examples each, no deadline.
"""

from __future__ import annotations

import contextlib
import math
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.workflow.expr import (
    EvalContext,
    ExpressionError,
    compile_expression,
    is_truthy,
    to_text,
)
from conveyor.workflow.expr.parser import parse
from tests.workflow.expr.generate import CONTEXTS, random_node

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=True)
    | st.integers(-(10**20), 10**20)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
contexts = st.fixed_dictionaries(
    {"github": json_values, "env": json_values, "matrix": json_values}
) | st.just(CONTEXTS)


def evaluate(text: str, values: dict[str, Any]) -> Any:
    return compile_expression(text).evaluate(EvalContext(values))


@SETTINGS
@given(seed=st.randoms(use_true_random=False), values=contexts)
def test_evaluation_raises_only_expression_errors(
    seed: random.Random, values: dict[str, Any]
) -> None:
    text = to_text(random_node(seed))
    with contextlib.suppress(ExpressionError):
        evaluate(text, values)


@SETTINGS
@given(seed=st.randoms(use_true_random=False))
def test_printing_then_parsing_gives_the_same_tree(seed: random.Random) -> None:
    node = random_node(seed)
    text = to_text(node)
    assert repr(parse(text)) == repr(node), text
    assert to_text(parse(text)) == text  # type: ignore[arg-type]


@SETTINGS
@given(seed=st.randoms(use_true_random=False), values=contexts)
def test_double_negation_is_truthiness(seed: random.Random, values: dict[str, Any]) -> None:
    text = to_text(random_node(seed))
    try:
        value = evaluate(text, values)
    except ExpressionError:
        return
    assert evaluate(f"!!({text})", values) is is_truthy(value)


primitives = st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=6)


@SETTINGS
@given(left=primitives | st.floats(), right=primitives | st.floats())
def test_equality_is_symmetric_and_reflexive(left: Any, right: Any) -> None:
    values = {"x": {"l": left, "r": right}}
    assert evaluate("x.l == x.r", values) is evaluate("x.r == x.l", values)
    assert evaluate("x.l != x.r", values) is not evaluate("x.l == x.r", values)
    is_nan = isinstance(left, float) and math.isnan(left)
    assert evaluate("x.l == x.l", values) is not is_nan
