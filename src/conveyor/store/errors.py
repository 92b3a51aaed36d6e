"""Errors of the store layer.

ConveyorError
└── StoreError         the database could not be opened, migrated or written
    └── NameTaken      a token or runner name is already in use
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError


class StoreError(ConveyorError):
    """A database operation failed; the message names the URL (without password)."""


class NameTaken(StoreError):
    """A token or runner name is in use: names are identities (reviewers, runners), so the
    caller picks another name or revokes the old one first."""
