"""A service's `command:` split as GitHub's runner (.NET `Process` on Linux) splits it."""

from __future__ import annotations

import pytest

from conveyor.workflow.run.argv import split_arguments

CASES = [
    ("", []),
    ("  a \t b  ", ["a", "b"]),
    ('-c "echo hi && sleep 1"', ["-c", "echo hi && sleep 1"]),
    ("-c 'echo hi'", ["-c", "'echo", "hi'"]),  # single quotes are ordinary characters
    ('a"b c"d', ["ab cd"]),
    ('"say ""hi"""', ['say "hi"']),
    ('a\\"b', ['a"b']),
    ('a\\\\"b c"', ["a\\b c"]),
    ("C:\\dir\\ x", ["C:\\dir\\", "x"]),
    ('""', [""]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_command_strings_split_as_dotnet_splits_them(text: str, expected: list[str]) -> None:
    assert split_arguments(text) == expected
