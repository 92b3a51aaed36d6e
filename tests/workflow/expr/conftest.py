"""Shared helpers for the expression tests: GitHub's shared test data and result comparison."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from conveyor.workflow.expr import EvalContext, ExpressionError, kind_of, parse_with

#: actions/languageservices expressions/testdata, kept beside the repository (../shared).
TESTDATA = (
    Path(__file__).parents[3]
    / ".."
    / "shared"
    / "testdata"
    / "github-languageservices"
    / "expressions"
)


def outcome(expr: str, contexts: dict[str, Any]) -> dict[str, Any]:
    """What our evaluator gives, in the test data's shape: {kind, value} or {err: {kind, value}}."""
    try:
        value = parse_with(expr, named_values=list(contexts)).evaluate(EvalContext(contexts))
    except ExpressionError as exc:
        return {"err": {"kind": str(exc.kind), "value": exc.message}}
    return {"kind": kind_of(value), "value": value}


def same(left: Any, right: Any) -> bool:
    """Deep equality that tells booleans from numbers and treats NaN as equal to NaN."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return (math.isnan(left) and math.isnan(right)) or left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same, left, right))
    return type(left) is type(right) and left == right


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    """(id, case) for every case in every file, skipped ones included."""
    cases = []
    for path in sorted(TESTDATA.glob("*.json")):
        for name, items in json.loads(path.read_text(encoding="utf-8")).items():
            for number, case in enumerate(items):
                cases.append((f"{path.stem}/{name}/{number}", case))
    return cases
