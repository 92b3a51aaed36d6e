"""Matrix expansion: GitHub docs' worked examples, verbatim, plus names and `--matrix` filters."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.workflow.plan.errors import PlanError
from conveyor.workflow.plan.matrix import (
    display_suffix,
    expand,
    filter_legs,
    leg_name,
    same,
)


def test_docs_include_example_fruit_and_animal() -> None:
    # docs.github.com "Expanding or adding matrix configurations": six jobs, in this order.
    matrix = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert expand(matrix) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_docs_exclude_example_runs_nine_jobs() -> None:
    matrix = {
        "os": ["macos-latest", "windows-latest"],
        "version": [12, 14, 16],
        "environment": ["staging", "production"],
        "exclude": [
            {"os": "macos-latest", "version": 12, "environment": "production"},
            {"os": "windows-latest", "version": 16},
        ],
    }
    legs = expand(matrix)
    assert len(legs) == 9
    assert {"os": "macos-latest", "version": 12, "environment": "production"} not in legs
    assert not [leg for leg in legs if leg["os"] == "windows-latest" and leg["version"] == 16]
    assert legs[0] == {"os": "macos-latest", "version": 12, "environment": "staging"}


def test_docs_expand_with_include_adds_npm_to_one_leg() -> None:
    matrix = {
        "os": ["windows-latest", "ubuntu-latest"],
        "node": [12, 14, 16],
        "include": [{"os": "windows-latest", "node": 16, "npm": 6}],
    }
    legs = expand(matrix)
    assert len(legs) == 6
    assert [leg for leg in legs if "npm" in leg] == [{"os": "windows-latest", "node": 16, "npm": 6}]


def test_docs_add_with_include_makes_ten_jobs() -> None:
    matrix = {
        "os": ["macos-latest", "windows-latest", "ubuntu-latest"],
        "version": [12, 14, 16],
        "include": [{"os": "windows-latest", "version": 17}],
    }
    legs = expand(matrix)
    assert len(legs) == 10
    assert legs[-1] == {"os": "windows-latest", "version": 17}


def test_docs_include_only_matrix() -> None:
    matrix = {
        "include": [
            {"site": "production", "datacenter": "site-a"},
            {"site": "staging", "datacenter": "site-b"},
        ]
    }
    assert expand(matrix) == matrix["include"]


def test_docs_perl_example_makes_seven_jobs() -> None:
    matrix = {
        "os": ["ubuntu-latest"],
        "perl": ["5.16", "5.20", "5.26", "5.30", "latest"],
        "include": [
            {"os": "macos-latest", "perl": "5.26"},
            {"os": "macos-latest", "perl": "latest"},
        ],
    }
    legs = expand(matrix)
    assert len(legs) == 7
    assert legs[-2:] == [
        {"os": "macos-latest", "perl": "5.26"},
        {"os": "macos-latest", "perl": "latest"},
    ]


def test_include_can_restore_an_excluded_combination() -> None:
    matrix = {"a": [1, 2], "exclude": [{"a": 2}], "include": [{"a": 2}]}
    assert expand(matrix) == [{"a": 1}, {"a": 2}]


def test_include_overwrites_added_values_but_never_original_ones() -> None:
    matrix = {"a": [1, 2], "include": [{"x": "first"}, {"a": 1, "x": "second"}]}
    assert expand(matrix) == [{"a": 1, "x": "second"}, {"a": 2, "x": "first"}]


def test_cross_product_order_is_first_key_outermost() -> None:
    assert expand({"x": ["a", "b"], "n": [1, 2]}) == [
        {"x": "a", "n": 1},
        {"x": "a", "n": 2},
        {"x": "b", "n": 1},
        {"x": "b", "n": 2},
    ]


def test_values_may_be_objects_and_arrays() -> None:
    matrix: dict[str, Any] = {
        "cfg": [{"os": "linux", "arch": ["x64"]}, {"os": "mac", "arch": ["arm64"]}],
        "exclude": [{"cfg": {"os": "mac", "arch": ["arm64"]}}],
    }
    assert expand(matrix) == [{"cfg": {"os": "linux", "arch": ["x64"]}}]


def test_types_are_kept_apart_when_matching() -> None:
    assert expand({"v": [1, True, "1"], "exclude": [{"v": True}]}) == [{"v": 1}, {"v": "1"}]
    assert same(1, 1.0)
    assert not same(1, True)
    assert not same("1", 1)
    assert not same({"a": 1}, {"a": 1, "b": 2})


def test_no_matrix_is_one_leg() -> None:
    assert expand(None) == [{}]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ({"x": []}, "Matrix vector 'x' does not contain any values"),
        ({"x": "a"}, "Matrix vector 'x' must be a list"),
        (["a"], "the matrix must be a mapping"),
        ({"x": [1], "include": {"a": 1}}, "matrix 'include' must be a list of mappings"),
        ({"x": [1], "exclude": [1]}, "matrix 'exclude' must be a list of mappings"),
        ({"x": [1], "exclude": [{"y": 1}]}, "Matrix exclude key 'y' does not match any key"),
    ],
)
def test_invalid_matrices(matrix: Any, message: str) -> None:
    with pytest.raises(PlanError, match=message) as info:
        expand(matrix, where="ci.yml:7:9")
    assert info.value.message.startswith("ci.yml:7:9: ")


def test_more_than_256_legs_is_an_error() -> None:
    assert len(expand({"a": list(range(16)), "b": list(range(16))})) == 256
    with pytest.raises(PlanError, match="Strategy expansion exceeded 256 results for job 'build'"):
        expand({"a": list(range(16)), "b": list(range(16)), "include": [{"a": 99}]}, job_id="build")


@pytest.mark.parametrize(
    ("combo", "suffix"),
    [
        ({}, ""),
        ({"n": 1, "x": "a"}, "(1, a)"),
        ({"python": 3.10}, "(3.1)"),  # YAML's 3.10 is the number 3.1, on GitHub too
        ({"flag": True, "none": None}, "(true, )"),
        ({"cfg": {"os": "linux", "arch": ["x64", "arm"]}, "n": 2}, "(linux, x64, arm, 2)"),
        ({"big": 2.0}, "(2)"),
    ],
)
def test_display_suffix(combo: dict[str, Any], suffix: str) -> None:
    assert display_suffix(combo) == suffix


def test_leg_name() -> None:
    assert leg_name("build", {"n": 1, "x": "a"}) == "build (1, a)"
    assert leg_name("build", {}) == "build"


LEGS: list[dict[str, Any]] = [
    {"os": "linux", "n": 1},
    {"os": "linux", "n": 2},
    {"os": "mac", "n": 1},
    {"os": "win", "n": 2, "flag": True},
]


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        ([], [0, 1, 2, 3]),
        ([("os", "linux")], [0, 1]),
        ([("os", "linux"), ("os", "mac")], [0, 1, 2]),  # values of one key are OR'ed
        ([("os", "linux"), ("n", "2")], [1]),  # different keys are AND'ed
        ([("flag", "false")], [0, 1, 2]),  # legs without the key are kept, as in act
        ([("flag", "true"), ("os", "win")], [3]),
        ([("os", "bsd")], []),
    ],
)
def test_filter_legs(filters: list[tuple[str, str]], kept: list[int]) -> None:
    assert filter_legs(LEGS, filters) == [LEGS[i] for i in kept]
