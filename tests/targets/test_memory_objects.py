"""The memory target's `kubectl apply` merge (pure): Git's fields win, fields Git dropped
since the last apply go, fields someone else set stay."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.targets.memory_objects import merge


@pytest.mark.parametrize(
    ("live", "config", "last", "result"),
    [
        ({"a": 1}, {"a": 2}, {"a": 1}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2}, {"a": 1}),  # Git dropped b
        ({"a": 1, "hpa": 5}, {"a": 2}, {"a": 1}, {"a": 2, "hpa": 5}),  # others' field stays
        ({"m": {"x": 1, "y": 2}}, {"m": {"x": 3}}, {"m": {"x": 1}}, {"m": {"x": 3, "y": 2}}),
        ({"l": [1, 2, 3]}, {"l": [4]}, {"l": [1]}, {"l": [4]}),  # lists are replaced whole
        ({"a": 1, "b": 2}, {"a": 1}, None, {"a": 1, "b": 2}),  # nobody applied before
    ],
)
def test_merge(live: Any, config: Any, last: Any, result: Any) -> None:
    assert merge(live, config, last) == result
