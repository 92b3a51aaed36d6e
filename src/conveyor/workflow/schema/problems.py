"""One problem found in a workflow or action file: where, what, which rule.

Produced by every checker in this package, collected by `conveyor.workflow.load`, printed by
`conveyor lint` as `file:line:col: message [rule]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conveyor.core.location import Location


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """`rule` is a short slug (`unknown-key`, `type`, `needs-cycle`, `cron`, …)."""

    location: Location
    message: str
    rule: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.location}: {self.message} [{self.rule}]"

    def to_json(self) -> dict[str, str | int]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "message": self.message,
            "rule": self.rule,
            "severity": str(self.severity),
        }


class Sink:
    """Collects problems for one file; checkers call `error(node-ish, message, rule)`."""

    __slots__ = ("file", "problems")

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, col: int, message: str, rule: str) -> None:
        loc = Location(file=self.file, line=line, col=col)
        self.problems.append(Problem(location=loc, message=message, rule=rule))

    def warn(self, line: int, col: int, message: str, rule: str) -> None:
        """A problem that does not make the file invalid (GitHub runs it; the name is odd)."""
        loc = Location(file=self.file, line=line, col=col)
        self.problems.append(
            Problem(location=loc, message=message, rule=rule, severity=Severity.WARNING)
        )
