"""Promotion errors: what the user must fix (exit 2) versus what retrying might cure.

ConveyorError
└── PromoteError                 base of this package
    ├── PromoteInputError        also a UserError: bad flag, unknown env, image not found,
    │   │                        malformed reference, unreachable remote, auth refused
    │   └── ContentConflict      the field was changed by hand while we were promoting
    └── PushContention           also a TransientError: every attempt was rejected

Messages never carry tokens: `conveyor.clients.gitwrite.mask` scrubs git's output first.
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError, TransientError, UserError


class PromoteError(ConveyorError):
    """Base of every error the promote package raises on purpose."""


class PromoteInputError(PromoteError, UserError):
    """The user must act (the CLI prints one line and exits 2); nothing was pushed."""


class ContentConflict(PromoteInputError):
    """Someone changed the field we are promoting to another value since we first read it."""


class PushContention(PromoteError, TransientError):
    """Every push attempt was rejected because others kept moving the branch."""
