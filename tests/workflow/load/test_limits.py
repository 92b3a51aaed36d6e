"""GitHub's reader limits (actions/runner ParseOptions): nesting depth, file size, result
size; each stops the reading with GitHub's message, on the file as GitHub places it."""

from __future__ import annotations

import time

from conveyor.workflow.schema.validate import check_action
from tests.workflow.load.helpers import problem_lines

#: root (1), jobs (2), the job (3), env (4): `levels` sequences more inside the env value
NESTED = "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo\n    env:\n"


def _nested(levels: int) -> str:
    return NESTED + "      A: " + "[" * levels + "]" * levels + "\n"


def test_fifty_levels_of_nesting_are_read_and_fifty_one_are_not() -> None:
    assert problem_lines(_nested(46)) == ["8:10 A sequence was not expected"]  # depth 50
    errors = problem_lines(_nested(47))  # depth 51
    assert errors == [
        "0:0 Maximum object depth exceeded (at line 8, column 56 the nesting is deeper than "
        "50 mappings and sequences, GitHub's limit); the file is not read further"
    ]


def test_a_file_nested_five_thousand_deep_gives_the_depth_error_not_a_traceback() -> None:
    for levels in (900, 5000):
        started = time.perf_counter()
        errors = problem_lines(_nested(levels))
        assert time.perf_counter() - started < 2
        assert len(errors) == 1
        assert errors[0].startswith("0:0 Maximum object depth exceeded (at line 8, column 56 ")


def test_block_nesting_counts_like_flow_nesting() -> None:
    body = "".join(f"{'  ' * (3 + n)}k{n}:\n" for n in range(47)) + f"{'  ' * 50}leaf: 1\n"
    errors = problem_lines(NESTED.removesuffix("    env:\n") + "    env:\n" + body)
    assert errors[0].startswith("0:0 Maximum object depth exceeded (at line 55, column 101 ")


def test_an_alias_counts_the_depth_of_what_it_names_where_it_stands() -> None:
    def text(levels: int) -> str:  # the anchor at depth 1 + levels, the alias at 4 + levels
        return f"x: &deep {'[' * levels}{']' * levels}\n" + NESTED + "      A: *deep\n"

    assert "Maximum object depth exceeded" not in " ".join(problem_lines(text(46)))
    assert problem_lines(text(47)) == [
        "0:0 Maximum object depth exceeded (the alias '*deep' at line 9, column 10 nests deeper "
        "than 50 mappings and sequences, GitHub's limit); the file is not read further"
    ]


def test_an_action_may_nest_a_hundred_deep() -> None:
    head = "name: a\nruns:\n  using: composite\n  steps:\n    - run: echo\n      shell: sh\n"
    head += "      env:\n        A: "
    assert not any(
        "depth" in p.message for p in check_action(head + "[" * 90 + "]" * 90 + "\n", "a").problems
    )
    problems = check_action(head + "[" * 97 + "]" * 97 + "\n", "a").problems
    assert [p.message[:29] for p in problems] == ["Maximum object depth exceeded"]


def test_a_file_over_a_mebibyte_of_characters_is_not_read() -> None:
    def text(size: int) -> str:
        body = _nested(1)
        return "#" * (size - len(body) - 1) + "\n" + body

    assert problem_lines(text(1024 * 1024)) == ["9:10 A sequence was not expected"]
    assert problem_lines(text(1024 * 1024 + 1)) == [
        "0:0 The maximum file size of 1048576 characters has been exceeded"
    ]


def test_characters_outside_the_bmp_count_twice_as_in_dotnet() -> None:
    text = _nested(1) + "# " + "\U0001f600" * (1024 * 1024 // 2) + "\n"
    assert len(text) < 1024 * 1024
    assert problem_lines(text) == [
        "0:0 The maximum file size of 1048576 characters has been exceeded"
    ]


def test_a_result_over_ten_mebibytes_as_github_counts_it_is_not_read() -> None:
    many = "[" + ",".join(["x"] * 210_000) + "]"  # 210,000 strings of 52 bytes each
    errors = problem_lines(f"x: {many}\n" + _nested(1))
    assert len(errors) == 1
    assert errors[0].startswith("0:0 Maximum object size exceeded (line 1, column ")
