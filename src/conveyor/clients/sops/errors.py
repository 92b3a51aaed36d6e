"""Why a SOPS document could not be read, as a reason the app's status shows.

ConveyorError
└── UserError (conveyor.core.errors)
    └── SopsError      reason: SopsReason; the message names the file, never a value
"""

from __future__ import annotations

from enum import StrEnum

from conveyor.core.errors import UserError
from conveyor.core.location import Location


class SopsReason(StrEnum):
    NO_KEY = "NoKey"  # no age identity configured at all
    WRONG_KEY = "WrongKey"  # identities given, none opens the data key
    MAC_MISMATCH = "MacMismatch"  # a value or the MAC fails authentication: tampered
    UNSUPPORTED = "Unsupported"  # a SOPS feature Conveyor does not implement
    MALFORMED = "Malformed"  # not a SOPS document as sops writes it
    BAD_KEY_FILE = "BadKeyFile"  # an identity file that is unreadable, open to others, bad
    BAD_CONFIG = "BadConfig"  # a `.sops.yaml` whose creation rules cannot be used


class SopsError(UserError):
    """A SOPS document or key that cannot be used; `reason` says which kind."""

    def __init__(
        self,
        reason: SopsReason,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.reason = reason
