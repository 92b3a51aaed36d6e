"""Errors of the notifications package.

NotifyError (ConveyorError)
└── NotifyConfigInvalid (UserError)   the `notifications:` section is wrong: file:line
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError, UserError


class NotifyError(ConveyorError):
    """Base of notification errors."""


class NotifyConfigInvalid(NotifyError, UserError):
    """The `notifications:` section of `conveyor.yaml` is not valid."""
