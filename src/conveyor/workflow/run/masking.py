"""Secret masking: every line printed or written to a step log or step summary goes through here.

One `Masker` per run is created by `conveyor.app.cmd_run`, filled by the engine with the run's
secrets and with `::add-mask::` values as they appear (`add`); the console and the log
writers call `mask` on each line before it leaves the process.

What GitHub's runner does, and so do we:

- a secret is trimmed, then masked as a whole *and* line by line (each line trimmed), because
  a step's output is seen one line at a time (`Worker.cs`, "Also add each individual line");
  empty values are ignored; there is no minimum length (a 1-character secret is masked).
- each registered value is also masked in the encodings the runner's `HostContext` registers:
  base64 (and base64 of the value without its first 1 and 2 bytes, so it is caught inside
  `base64(user:password)`), JSON string escaping, URI data escaping, XML escaping, the
  expression-string escaping (`'` doubled) and, for quoted values longer than 8 characters,
  the value without its double quotes.
- deviation (more masking, never less): `::add-mask::` values are treated like secrets
  (trimmed, and line by line), where the runner registers the raw value only.
- overlapping or adjacent occurrences (of one or several secrets) become a single `***`, so no
  part of any secret survives; at one position the longest secret wins.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote

MASK = "***"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64_shift(value: str, shift: int) -> str:
    data = value.encode()
    return _b64(data[shift:] if len(data) > shift else data)


def _xml(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def _trim_double_quotes(value: str) -> str:
    if len(value) > 8 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return ""


def encodings(value: str) -> set[str]:
    """The value and the encoded forms GitHub's runner masks along with it."""
    forms = {
        value,
        _b64(value.encode()),
        _b64_shift(value, 1),
        _b64_shift(value, 2),
        value.replace("'", "''"),
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe="-_.~"),
        _xml(value),
        _trim_double_quotes(value),
    }
    forms.discard("")
    return forms


class Masker:
    """The set of values to hide; `mask(text)` replaces every occurrence with `***`.

    Thread-safe: values may be added from any thread while others mask; the compiled pattern
    is rebuilt once per change, on the next `mask`.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._quick: re.Pattern[str] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def add(self, value: str) -> bool:
        """Register a value (`::add-mask::`, a secret, a token); multi-line: each line too.

        Returns False when nothing was added (empty or whitespace-only value).
        """
        parts = {value.strip()}
        if "\n" in value or "\r" in value:
            parts.update(line.strip() for line in _LINE_BREAK.split(value))
        parts.discard("")
        if not parts:
            return False
        forms: set[str] = set()
        for part in parts:
            forms |= encodings(part)
        with self._lock:
            if not forms <= self._values:
                self._values |= forms
                self._dirty = True
        return True

    def _compile(self) -> None:
        with self._lock:
            ordered = sorted(self._values, key=len, reverse=True)
            alternation = "|".join(map(re.escape, ordered))
            # `_quick` rejects the common line without any secret at regex-search speed;
            # `_pattern` (a lookahead) then finds every start, overlapping ones included.
            self._quick = re.compile(alternation) if ordered else None
            self._pattern = re.compile(f"(?=({alternation}))") if ordered else None
            self._dirty = False

    def mask(self, text: str) -> str:
        """`text` with every registered value (and overlaps of them) replaced by `***`."""
        if self._dirty:
            self._compile()
        quick, pattern = self._quick, self._pattern
        if quick is None or pattern is None or not text or quick.search(text) is None:
            return text
        spans: list[list[int]] = []
        for match in pattern.finditer(text):
            start, end = match.start(1), match.end(1)
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in spans:
            pieces.append(text[last:start])
            pieces.append(MASK)
            last = end
        pieces.append(text[last:])
        return "".join(pieces)
