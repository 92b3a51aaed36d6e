"""LineSplitter: line ends and UTF-8 across arbitrary read boundaries."""

from __future__ import annotations

import pytest

from conveyor.runners.lines import LineSplitter

# (id, bytes, lines)
CASES = [
    ("lf", b"a\nb\n", ["a", "b"]),
    ("crlf", b"a\r\nb\r\n", ["a", "b"]),
    ("bare cr", b"a\rb\r", ["a", "b"]),
    ("mixed", b"a\r\n\rb\n\nc", ["a", "", "b", "", "c"]),
    ("no final break", b"abc", ["abc"]),
    ("empty", b"", []),
    ("only breaks", b"\n\r\n\r", ["", "", ""]),
    ("utf-8", "é€😀\n".encode(), ["é€😀"]),
    ("invalid utf-8 replaced", b"a\xffb\xc3\n", ["a\ufffdb\ufffd"]),
    ("truncated multibyte at end", b"x\xe2\x82", ["x\ufffd"]),
    ("other separators kept", "a\x0bb\x0cc\u2028d\x85e\n".encode(), ["a\x0bb\x0cc\u2028d\x85e"]),
]


@pytest.mark.parametrize(("data", "lines"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_split_any_chunking(data: bytes, lines: list[str], chunk: int) -> None:
    splitter = LineSplitter()
    out: list[str] = []
    for start in range(0, len(data), chunk):
        out.extend(splitter.feed(data[start : start + chunk]))
    out.extend(splitter.close())
    assert out == lines


def test_lines_come_out_as_soon_as_complete() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"a\nb") == ["a"]
    assert splitter.feed(b"c\r") == []  # may still be \r\n
    assert splitter.feed(b"d") == ["bc"]
    assert splitter.close() == ["d"]
