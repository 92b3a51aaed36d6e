"""Secret masking: every line printed or written to a step log or step summary goes through here.

One `Masker` per run is created by `conveyor.app.cmd_run`, filled by the engine with the run's
secrets and with `::add-mask::` values as they appear (`add`); the console and the log
writers call `mask` on each line before it leaves the process.

What GitHub's runner does, and so do we:

- a secret is trimmed, then masked as a whole *and* line by line (each line trimmed), because
  a step's output is seen one line at a time (`Worker.cs`, "Also add each individual line");
  empty values are ignored; there is no minimum length (a 1-character secret is masked).
- each registered value is also masked in the encodings the runner's `HostContext` registers:
  base64 (`base64_forms` below), JSON string escaping, URI data escaping, XML escaping, the
  expression-string escaping (`'` doubled) and, for quoted values longer than 8 characters,
  the value without its double quotes.
- base64 (issue 12 §11): a secret inside a longer byte stream (`echo "$S" | base64` adds a
  newline; `base64(user:password)` a prefix) starts at one of 3 offsets within a 3-byte
  group. As the runner's `ValueEncoders.EnumerateBase64Variations` does, the value without
  its first 0, 1 and 2 bytes is encoded, without `=` padding, in the standard and the
  URL-safe (RFC 4648 §5) alphabets. Deviation (more masking): when that byte count is not a
  multiple of 3, the last base64 digit also carries bits of whatever follows the secret, so
  it is trimmed too; otherwise `echo "$S" | base64` (the secret, then `\n`) leaks, which is
  what GitHub's padding-only trim lets through. The full padded encodings stay registered,
  so a secret at the very end of the data is masked whole. Forms shorter than
  `MIN_BASE64_FORM` digits are left out (masking every 2-letter run of base64 would make
  logs unreadable while hiding at most 12 bits). Not caught: base64 output wrapped across
  lines (`base64` wraps at 76 digits; each line is masked on its own).
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


MIN_BASE64_FORM = 4
_URL_SAFE = str.maketrans("+/", "-_")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def base64_forms(value: str) -> set[str]:
    """The base64 digits that stand for `value` wherever it sits in an encoded stream."""
    data = value.encode()
    forms: set[str] = set()
    for offset in range(3):
        pruned = data[offset:]
        if not pruned:
            break
        digits = _b64(pruned)
        forms.add(digits)  # whole, padded: the secret at the very end of the data
        digits = digits.rstrip("=")
        if len(pruned) % 3:
            digits = digits[:-1]  # its low bits belong to the byte after the secret
        forms.add(digits)
    forms |= {form.translate(_URL_SAFE) for form in forms}
    return {form for form in forms if len(form) >= MIN_BASE64_FORM}


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
        *base64_forms(value),
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
