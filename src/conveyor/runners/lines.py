"""Turns a byte stream into lines the way GitHub's runner reads a step's output.

Used by `conveyor.runners.host` (and any runner that reads a pipe). Line breaks are `\\n`,
`\\r\\n` and a bare `\\r` (.NET's `ReadLine`, which the runner uses, treats all three as
line ends, so a progress bar drawn with `\\r` becomes one line per redraw). Bytes are decoded
as UTF-8 with replacement characters for invalid sequences; a multi-byte character or a
`\\r\\n` split across two reads is handled.
"""

from __future__ import annotations

import codecs
import re

_BREAK = re.compile(r"\r\n|\r|\n")


class LineSplitter:
    """Incremental decoder: `feed(bytes)` returns the complete lines, `close()` the rest."""

    __slots__ = ("_decode", "_pending")

    def __init__(self) -> None:
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
        self._pending = ""

    def feed(self, data: bytes) -> list[str]:
        """Lines completed by `data`; a trailing partial line (or lone `\\r`) is kept."""
        text = self._pending + self._decode(data)
        if "\n" not in text and "\r" not in text:
            self._pending = text
            return []
        # A final `\r` may be the first half of `\r\n`: decide when the next bytes come.
        held = text.endswith("\r")
        parts = _BREAK.split(text[:-1] if held else text)
        self._pending = parts.pop() + ("\r" if held else "")
        return parts

    def close(self) -> list[str]:
        """The last line when the stream ended without a line break."""
        text = self._pending + self._decode(b"", True)
        self._pending = ""
        if text.endswith("\r"):
            text = text[:-1]
            return _BREAK.split(text) if text else [""]
        return _BREAK.split(text) if text else []
