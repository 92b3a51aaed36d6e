"""Secret masking: whole values, line by line, encodings, overlaps and secrets added mid-stream."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest

from conveyor.workflow.run.masking import Masker, encodings

# (id, secrets, text, expected)
CASES = [
    ("no secrets", [], "plain text", "plain text"),
    ("simple", ["hunter2"], "pw=hunter2!", "pw=***!"),
    ("every occurrence", ["ab"], "ab-ab ab", "***-*** ***"),
    ("one character secret", ["x"], "a x b", "a *** b"),
    ("regex characters are literal", ["a.b*"], "a.b* axbb", "*** axbb"),
    ("trimmed before use", ["  tok  "], "[tok]", "[***]"),
    ("longest first", ["abc", "abcdef"], "abcdefg", "***g"),
    ("overlap becomes one mask", ["abcd", "cdef"], "xabcdefx", "x***x"),
    ("adjacent becomes one mask", ["ab", "cd"], "abcd", "***"),
    ("overlapping occurrences of one secret", ["aba"], "ababa", "***"),
    ("multi-line whole", ["line one\nline two"], "line one\nline two", "***"),
    ("multi-line each line", ["line one\nline two\n"], "> line two <", "> *** <"),
    ("multi-line crlf", ["first\r\nsecond"], "second", "***"),
    ("multi-line lines trimmed", ["  a1  \n  b2 "], "a1 b2", "*** ***"),
    ("unicode", ["pässwört"], "x pässwört y", "x *** y"),
]


@pytest.mark.parametrize(
    ("secrets", "text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_mask(secrets: list[str], text: str, expected: str) -> None:
    masker = Masker()
    for secret in secrets:
        masker.add(secret)
    assert masker.mask(text) == expected


@pytest.mark.parametrize("value", ["", "   ", "\n\n", " \r\n "])
def test_blank_values_are_ignored(value: str) -> None:
    masker = Masker()
    assert masker.add(value) is False
    assert len(masker) == 0
    assert masker.mask("a b") == "a b"


def test_add_mask_mid_stream_applies_to_later_lines_only() -> None:
    masker = Masker()
    lines = ["token is abc123", "::add-mask::abc123", "token is abc123"]
    shown = []
    for line in lines:
        if line.startswith("::add-mask::"):
            masker.add(line.removeprefix("::add-mask::"))
            continue
        shown.append(masker.mask(line))
    assert shown == ["token is abc123", "token is ***"]


def test_adding_twice_is_harmless() -> None:
    masker = Masker()
    masker.add("s3cret")
    size = len(masker)
    masker.add("s3cret")
    assert len(masker) == size


SECRET = "p@ss w0rd/\"&<x>'\\"


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(SECRET.encode()[1:]).decode(),
        base64.b64encode(SECRET.encode()[2:]).decode(),
        json.dumps(SECRET)[1:-1],
        quote(SECRET, safe="-_.~"),
        "p@ss w0rd/&quot;&amp;&lt;x&gt;&apos;\\",
        SECRET.replace("'", "''"),
    ],
    ids=["base64", "base64-shift1", "base64-shift2", "json", "uri", "xml", "expression"],
)
def test_encoded_forms_are_masked(encoded: str) -> None:
    masker = Masker()
    masker.add(SECRET)
    assert masker.mask(f"<{encoded}>") == "<***>"


def test_base64_shift_catches_secret_inside_basic_auth() -> None:
    masker = Masker()
    masker.add("hunter22")
    header = base64.b64encode(b"alice:hunter22").decode()  # 'alice:' is 6 bytes: aligned
    assert "***" in masker.mask(header)
    header = base64.b64encode(b"bob:hunter22").decode()  # 4 bytes: shifted by 2
    assert "***" in masker.mask(header)


def test_double_quoted_value_also_masked_without_quotes() -> None:
    assert "long-value" in encodings('"long-value"')
    assert "short" not in encodings('"short"')  # 7 chars: the runner keeps the quotes


def test_many_secrets() -> None:
    masker = Masker()
    for index in range(500):
        masker.add(f"secret-{index:04d}-value")
    assert masker.mask("nothing here") == "nothing here"
    assert masker.mask("x secret-0420-value y") == "x *** y"


@pytest.mark.parametrize("before", [b"", b"u", b"us", b"usr:"])
@pytest.mark.parametrize("after", [b"", b"\n", b"\n\n", b"xyz"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_of_a_secret_is_masked_at_every_offset_and_ending(
    before: bytes, after: bytes, encode: Any
) -> None:
    """`echo "$S" | base64` and friends (issue 12 §11): no run of the secret's own digits
    survives, whatever precedes or follows it in the encoded stream."""
    secret = b"hunter2-plus"
    masker = Masker()
    masker.add(secret.decode())
    encoded = encode(before + secret + after).decode()
    shown = masker.mask(encoded)
    assert shown.count("***") == 1, shown
    start, tail = shown.index("***"), len(shown) - shown.index("***") - 3
    hidden = range(start, len(encoded) - tail)
    # as on GitHub, at most the first 2 bytes (shared digits with the prefix) and the last
    # byte (shared with the suffix) may stay visible; every digit of the others is hidden
    for index in range(len(before) + 2, len(before) + len(secret) - 1):
        digits = range(index * 8 // 6, (index * 8 + 7) // 6 + 1)
        assert all(d in hidden for d in digits), (shown, index)
