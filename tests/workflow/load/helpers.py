"""Small helpers shared by the loader tests."""

from __future__ import annotations

import textwrap

from conveyor.workflow.schema.validate import check_action, check_workflow


def problems(text: str) -> list[tuple[int, int, str, str]]:
    """(line, col, rule, message) of every problem in a workflow text."""
    checked = check_workflow(textwrap.dedent(text), "w.yml", resolve=lambda _: None)
    return [(p.location.line, p.location.col, p.rule, p.message) for p in checked.problems]


def problem_lines(text: str) -> list[str]:
    """`line:col message` of every problem in a workflow text, taken as written (no dedent)."""
    checked = check_workflow(text, "w.yml")
    return [f"{p.location.line}:{p.location.col} {p.message}" for p in checked.problems]


def action_problems(text: str) -> list[tuple[int, int, str, str]]:
    checked = check_action(textwrap.dedent(text), "action.yml")
    return [(p.location.line, p.location.col, p.rule, p.message) for p in checked.problems]


JOB = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""
