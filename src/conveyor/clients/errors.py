"""Errors of the adapters over outside programs.

ConveyorError (conveyor.core.errors)
└── ClientError        an outside program failed or could not be started
    └── GitError       `git` exited non-zero (argv, exit code and stderr kept)
"""

from __future__ import annotations

from collections.abc import Sequence

from conveyor.core.errors import ConveyorError


class ClientError(ConveyorError):
    """An outside program or library failed; callers decide whether the user must act."""


class GitError(ClientError):
    """A git command failed; `stderr` holds git's own explanation."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = self.stderr.splitlines()[-1] if self.stderr else f"exit code {returncode}"
        super().__init__(f"`{' '.join(self.argv)}` failed: {detail}")


class PodmanError(ClientError):
    """A podman command failed; `stderr` holds podman's explanation."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = self.stderr.splitlines()[-1] if self.stderr else f"exit code {returncode}"
        super().__init__(f"`{' '.join(self.argv[:3])} …` failed: {detail}")


class PodmanUnavailable(ClientError):
    """podman is not installed or cannot start containers on this host."""


class NothingToCommit(ClientError):
    """A commit was asked for, but the work tree already equals what it would record."""
