"""Errors of the CI service.

ConveyorError
└── CIError                  a CI operation cannot be done (the message says why)
    ├── NotFound             no such run, environment, approval or repository
    ├── Forbidden            the caller's role or identity may not do this
    └── Conflict             the object is not in a state that allows it
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError


class CIError(ConveyorError):
    """Base of the CI service's errors; messages never contain secret values."""


class NotFound(CIError):
    pass


class Forbidden(CIError):
    pass


class Conflict(CIError):
    pass
