"""Reading the `notifications:` section with positions: every error names the file, the
line and column of the offending key, and what to write instead. Used by `config` and
`destinations` only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conveyor.notify.errors import NotifyConfigInvalid
from conveyor.reconcile.appspec import parse_duration
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.yamlnodes import Document

Key = str | int


@dataclass(frozen=True, slots=True)
class Reader:
    """A view of the config document; paths are key tuples from its top."""

    doc: Document

    def invalid(self, message: str, *path: Key, hint: str) -> NotifyConfigInvalid:
        where = self.doc.where(*path)
        dotted = ".".join(str(p) for p in path)
        return NotifyConfigInvalid(f"{dotted}: {message}", location=where, hint=hint)

    def mapping(self, value: Any, *path: Key, allowed: Iterable[str]) -> dict[str, Any]:
        """`value` as a mapping whose keys are all `allowed` (unknown keys are refused)."""
        known = tuple(allowed)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.invalid("expected a mapping", *path, hint="see README: Notifications")
        for key in value:
            if key not in known:
                raise self.invalid(
                    f"unknown key {key!r}", *path, str(key), hint="known: " + ", ".join(known)
                )
        return value

    def names(self, value: Any, *path: Key) -> tuple[str, ...]:
        """A list of non-empty strings (a single string counts as a list of one)."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise self.invalid("expected a list of names", *path, hint="e.g. [ops, team-mail]")
        return tuple(items)

    def text(self, value: Any, *path: Key, default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.invalid("expected a string", *path, hint="quote the value")
        return str(value)

    def boolean(self, value: Any, *path: Key, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.invalid("expected true or false", *path, hint="write true or false")
        return value

    def number(self, value: Any, *path: Key, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.invalid("expected a whole number above 0", *path, hint="e.g. 5")
        return value

    def seconds(self, value: Any, *path: Key, default: float) -> float:
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ApplicationInvalid as exc:
            raise self.invalid(exc.message, *path, hint="write e.g. 5s, 3m or 1h30m") from exc
