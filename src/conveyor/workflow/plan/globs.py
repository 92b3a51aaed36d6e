"""GitHub's filter patterns for branches, tags and paths (the "Filter pattern cheat sheet").

Called by `plan.filters` for `branches`/`tags`/`paths` and their `-ignore` forms, and by the
loader to reject a malformed pattern early. The rules, from docs.github.com:

- `*` matches zero or more characters but not `/`; `**` matches any characters including `/`;
  `**/` also matches nothing at all, so `**/README.md` matches `README.md`;
- `?` and `+` quantify the PRECEDING character (`*.jsx?` matches `page.js` and `page.jsx`);
  at the very start they are literal;
- `[...]` matches one character listed or in a range of `a-z`, `A-Z`, `0-9`;
- `\\` escapes the next character;
- a leading `!` negates the pattern; patterns are checked in order and the last one that
  matches decides, so a list of only negations matches nothing.

A pattern must match the whole value. Compiled patterns are cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from conveyor.workflow.plan.errors import PlanError

_CLASS_CHAR = re.compile(r"[A-Za-z0-9]")
_WILDCARDS = frozenset({"[^/]*", ".*", "(?:.+/)?"})


def match(pattern: str, value: str) -> bool:
    """Does `value` match `pattern` as a whole? A leading `!` is NOT special here."""
    return compile_pattern(pattern).fullmatch(value) is not None


def filter_matches(patterns: Iterable[str], value: str) -> bool:
    """GitHub's list semantics: the last pattern that matches `value` decides; `!p` excludes."""
    matched = False
    for pattern in patterns:
        negative = pattern.startswith("!")
        if match(pattern[1:] if negative else pattern, value):
            matched = not negative
    return matched


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is malformed, or None; for the loader's `file:line:col` messages."""
    try:
        compile_pattern(pattern.removeprefix("!"))
    except PlanError as exc:
        return exc.message
    return None


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Translate one pattern (without its `!`) to a regular expression."""
    atoms: list[str] = []
    pos = 0
    while pos < len(pattern):
        char = pattern[pos]
        if char == "*":
            pos = _star(pattern, pos, atoms)
        elif char in "?+":
            _quantify(char, atoms)
            pos += 1
        elif char == "[":
            pos = _char_class(pattern, pos, atoms)
        elif char == "\\":
            if pos + 1 >= len(pattern):
                raise PlanError(f"invalid filter pattern '{pattern}': nothing after '\\'")
            atoms.append(re.escape(pattern[pos + 1]))
            pos += 2
        else:
            atoms.append(re.escape(char))
            pos += 1
    return re.compile("".join(atoms), re.DOTALL)


def _star(pattern: str, pos: int, atoms: list[str]) -> int:
    if pattern.startswith("**/", pos):
        atoms.append("(?:.+/)?")
        return pos + 3
    if pattern.startswith("**", pos):
        atoms.append(".*")
        return pos + 2
    atoms.append("[^/]*")
    return pos + 1


def _quantify(char: str, atoms: list[str]) -> None:
    """Apply `?`/`+` to the previous atom without ever nesting quantifiers (which would make
    the regex backtrack exponentially): a wildcard absorbs it, and a second quantifier on
    the same atom combines with the first (`+` then `+` is `+`, mixed is `*`)."""
    if not atoms:
        atoms.append(re.escape(char))
        return
    last = atoms[-1]
    if last in _WILDCARDS:
        return
    if last.startswith("(?:") and last[-1] in "?+*" and last[-2] == ")":
        body, previous = last[:-1], last[-1]
        atoms[-1] = body + (char if previous == char else "*")
        return
    atoms[-1] = f"(?:{last}){char}"


def _char_class(pattern: str, pos: int, atoms: list[str]) -> int:
    end = pattern.find("]", pos + 1)
    if end < 0:
        raise PlanError(f"invalid filter pattern '{pattern}': missing ']' after '['")
    body = pattern[pos + 1 : end]
    if not body:
        raise PlanError(f"invalid filter pattern '{pattern}': empty brackets '[]'")
    parts: list[str] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            low, high = body[index], body[index + 2]
            if not _valid_range(low, high):
                raise PlanError(
                    f"invalid filter pattern '{pattern}': range '{low}-{high}' "
                    "(ranges can only include a-z, A-Z and 0-9)"
                )
            parts.append(f"{low}-{high}")
            index += 3
            continue
        char = body[index]
        if not _CLASS_CHAR.fullmatch(char):
            raise PlanError(
                f"invalid filter pattern '{pattern}': '{char}' inside brackets "
                "(only letters, digits and ranges are allowed)"
            )
        parts.append(char)
        index += 1
    atoms.append(f"[{''.join(parts)}]")
    return end + 1


def _valid_range(low: str, high: str) -> bool:
    for first, last in (("a", "z"), ("A", "Z"), ("0", "9")):
        if first <= low <= last and first <= high <= last:
            return low <= high
    return False
