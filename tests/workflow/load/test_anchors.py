"""YAML anchors and aliases, read as GitHub reads them since August 2025 (actions/runner#1182).

An alias stands for the anchored node itself, so errors in aliased content are reported
where the anchor's content is written (GitHub's parsers replay the anchored events with
their own positions). The merge key `<<` is an ordinary key (GitHub does not merge). Aliases
expanding past GitHub's result size (10 MiB as its reader counts) stop the reading.
"""

from __future__ import annotations

import time

from conveyor.workflow.schema.build_workflow import build_workflow
from conveyor.workflow.schema.nodes import Map
from conveyor.workflow.schema.validate import check_workflow
from tests.workflow.load.helpers import problem_lines

SHARED = """on: push
env: &env
  LEVEL: debug
jobs:
  a:
    runs-on: &os ubuntu-latest
    env: *env
    steps: &steps
      - run: echo $LEVEL
  b:
    runs-on: *os
    steps: *steps
"""


def test_aliases_read_the_anchored_values() -> None:
    checked = check_workflow(SHARED, "w.yml")
    assert [str(p) for p in checked.problems] == []
    assert isinstance(checked.root, Map)
    workflow = build_workflow(checked.root, "w.yml")
    jobs = {job.id: job for job in workflow.jobs}
    assert jobs["b"].runs_on == jobs["a"].runs_on
    assert [s.run for s in jobs["b"].steps] == ["echo $LEVEL"]


def test_an_error_in_aliased_content_is_reported_where_the_anchor_content_is() -> None:
    text = SHARED.replace("runs-on: &os ubuntu-latest", "runs-on: x\n    timeout-minutes: &t abc")
    text = text.replace("runs-on: *os", "runs-on: x\n    timeout-minutes: *t")
    assert problem_lines(text) == ["7:25 Unexpected value 'abc'"]


def test_the_merge_key_is_an_ordinary_key_as_on_github() -> None:
    text = SHARED.replace("    env: *env\n", "    env:\n      <<: *env\n")
    assert problem_lines(text) == [
        "3:3 A mapping was not expected",
        "8:7 '<<' is not a merge key on GitHub (YAML 1.2 has none): it is read as a key named "
        "'<<'. Write the entries out, or alias the whole mapping",
    ]


def test_an_undefined_alias_stops_the_reading() -> None:
    assert problem_lines(SHARED.replace("*os", "*nope")) == [
        "11:14 Invalid YAML: found undefined alias 'nope'"
    ]


def test_an_alias_bomb_is_refused_before_any_check_walks_it() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    text = SHARED + "\n".join(levels) + "\n"  # 10**10 nodes once expanded
    started = time.perf_counter()
    errors = problem_lines(text)
    assert time.perf_counter() - started < 2
    assert len(errors) == 1
    assert errors[0].startswith("0:0 Maximum object size exceeded (the alias '*a4' at line 18")


def test_a_document_that_is_only_a_marker_is_reported_right_after_it() -> None:
    assert problem_lines("---\n")[0] == "1:4 Unexpected value ''"
