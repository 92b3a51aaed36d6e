"""The plan's errors: all permanent, because they come from the workflow file or the flags.

UserError (conveyor.core.errors)
└── PlanError          bad matrix, needs cycle, bad `--input`, bad filter pattern
"""

from __future__ import annotations

from conveyor.core.errors import UserError


class PlanError(UserError):
    """The workflow or the command line asks for a plan that cannot be built."""
