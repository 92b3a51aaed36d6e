"""Attack tests (issue 12): each runs an attack against a real `conveyor server` process on
127.0.0.1 (and a real `conveyor runner` agent where it matters) and fails while the hole is
open. The server fixtures are the ones `tests/server` uses."""

from __future__ import annotations

from tests.server.conftest import git, make_server, push_workflows, server

__all__ = ["git", "make_server", "push_workflows", "server"]
