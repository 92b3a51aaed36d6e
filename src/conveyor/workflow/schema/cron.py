"""POSIX cron as GitHub accepts it under `on.schedule[].cron`.

Five fields separated by spaces (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
`jan`…`dec`, day of week 0-6 or `sun`…`sat`); each field is `*`, a number or name, a range
`a-b` with b ≥ a, a step `x/n` (n > 0, within the field's range), or a comma list of those.
`@daily` and friends are not supported by GitHub.

Called by `events_check`. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MESSAGE = "Invalid cron expression. Expected format: '* * * * *' (minute hour day month weekday)"
_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Field:
    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)


_FIELDS = (
    _Field(low=0, high=59),
    _Field(low=0, high=23),
    _Field(low=1, high=31),
    _Field(low=1, high=12, names=_MONTHS),
    _Field(low=0, high=6, names=_DAYS),
)


def is_valid_cron(text: str) -> bool:
    """True when GitHub would accept `text` as a schedule."""
    parts = re.split(" +", text)
    if len(parts) != 5:
        return False
    return all(_part(p, f, True) for p, f in zip(parts, _FIELDS, strict=True))


def _number(value: str, spec: _Field) -> int | None:
    if value.lower() in spec.names:
        return spec.names[value.lower()]
    return int(value) if value.isdigit() else None


def _part(value: str, spec: _Field, nested: bool) -> bool:
    if value.lower() in spec.names or value == "*":
        return True
    if "," in value:
        return nested and all(v and _part(v, spec, True) for v in value.split(","))
    if "/" in value:
        pieces = value.split("/")
        if not nested or len(pieces) != 2 or not all(pieces):
            return False
        start, step = pieces
        if not step.isdigit() or int(step) <= 0:
            return False
        return _part(start, spec, True) and _part(step, spec, False)
    if "-" in value:
        pieces = value.split("-")
        if not nested or len(pieces) != 2 or not all(pieces):
            return False
        low, high = (_number(p, spec) for p in pieces)
        if low is None or high is None:
            return False
        return _part(pieces[0], spec, False) and _part(pieces[1], spec, False) and high >= low
    number = _number(value, spec)
    return number is not None and spec.low <= number <= spec.high
