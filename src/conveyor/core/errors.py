"""The root of Conveyor's exception tree.

Each package defines one base exception deriving from `ConveyorError` and splits it into
permanent errors (the user must act: bad YAML, unknown job, missing secret) and transient
ones (retry with backoff: network, lock). The CLI (`conveyor.app`) turns a `UserError` into
`file:line:col: message` and exit 2; anything else is an internal error shown without a
traceback unless `--debug` is given.

    ConveyorError
    ├── UserError          permanent; carries where and a hint
    └── TransientError     worth retrying
"""

from __future__ import annotations

from conveyor.core.location import Location


class ConveyorError(Exception):
    """Base of every error Conveyor raises on purpose."""


class UserError(ConveyorError):
    """Bad input the user must fix; `location` points at it, `hint` says what to do."""

    def __init__(
        self, message: str, *, location: Location | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} ({self.hint})" if self.hint else text


class TransientError(ConveyorError):
    """A failure that may pass by itself: the caller retries with backoff."""
