"""Errors of the store layer.

ConveyorError
└── StoreError         the database could not be opened, migrated or written
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError


class StoreError(ConveyorError):
    """A database operation failed; the message names the URL (without password)."""
