"""Every schema definition with a `context` list: an expression there is accepted in lint,
and a context the list does not name is rejected at the expression's position. A walker over
GitHub's schema fails when a context-bearing definition has no row, so the class of bug
("this key cannot hold an expression") stays closed. The run-time half is the fixture
`tests/fixtures/workflows/schema-contexts`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.workflow.schema.definitions import WORKFLOW_SCHEMA, schema_dir
from conveyor.workflow.schema.validate import check_workflow
from tests.workflow.load.context_rows import NOT_ON_HOST, ROWS, RUNTIME, UNREACHABLE, Row

CALLEE = (
    "on:\n  workflow_call:\n    inputs: {i: {type: string}}\n    secrets: {s: {}}\n"
    "jobs:\n  a: {runs-on: x, steps: [{run: a}]}\n"
)


def problems(text: str) -> list[tuple[int, int, str, str]]:
    checked = check_workflow(text, "w.yml", resolve=lambda _: CALLEE)
    return [(p.location.line, p.location.col, p.rule, p.message) for p in checked.problems]


IDS = [row.definition for row in ROWS]


def _raw_schema() -> dict[str, dict[str, object]]:
    raw = json.loads((schema_dir() / WORKFLOW_SCHEMA).read_text(encoding="utf-8"))
    return dict(raw["definitions"])


def _children(body: dict[str, object]) -> list[str]:
    found: list[str] = []
    mapping = body.get("mapping")
    if isinstance(mapping, dict):
        for prop in mapping.get("properties", {}).values():
            found.append(prop if isinstance(prop, str) else prop["type"])
        found += [mapping[k] for k in ("loose-key-type", "loose-value-type") if k in mapping]
    sequence = body.get("sequence")
    if isinstance(sequence, dict):
        found.append(sequence["item-type"])
    one_of = body.get("one-of")
    if isinstance(one_of, list):
        found += one_of
    return found


def _reachable(definitions: dict[str, dict[str, object]]) -> set[str]:
    seen: set[str] = set()
    pending = ["workflow-root-strict"]
    while pending:
        name = pending.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        pending += _children(definitions[name])
    return seen


def test_every_context_bearing_definition_has_a_row() -> None:
    definitions = _raw_schema()
    with_context = {name for name, body in definitions.items() if "context" in body}
    reachable = _reachable(definitions)
    assert with_context - set(IDS) - UNREACHABLE == set(), "add a row to context_rows.ROWS"
    assert UNREACHABLE.isdisjoint(reachable), "a definition became reachable: give it a row"
    assert set(IDS) <= with_context & reachable


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_expression_with_an_allowed_context_is_accepted(row: Row) -> None:
    found = [p for p in problems(row.workflow(row.allowed)) if p[2] != "unsupported"]
    assert found == []


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_context_the_schema_does_not_list_is_rejected_where_it_is_used(row: Row) -> None:
    line, col = row.where()
    found = problems(row.workflow(f"{row.forbidden}.x"))
    message = (
        f"Unrecognized named-value: '{row.forbidden}'. "
        f"Located at position 1 within expression: {row.forbidden}.x"
    )
    assert (line, col, "expression-context", message) in found, found


def test_every_row_is_evaluated_at_run_time_or_says_why_not() -> None:
    fixture = Path(__file__).parents[2] / "fixtures" / "workflows" / "schema-contexts"
    texts = "".join(p.read_text() for p in sorted(fixture.rglob("*.yml")))
    for row in ROWS:
        if row.definition in NOT_ON_HOST:
            continue
        assert RUNTIME[row.definition] in texts, row.definition
