"""Concurrency groups within one invocation: one running and one pending per group.

Called by the scheduler before a workflow or a job (leg) starts. GitHub's rules: a group
(name compared case-insensitively) has at most one running and one pending member; a new
arrival cancels the pending one (even without `cancel-in-progress`); with
`cancel-in-progress` it also cancels the running one, and waits until it has stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True, kw_only=True)
class _Group:
    """One concurrency group: the running holder's canceller and the one pending waiter."""

    running: Callable[[], None] | None = None
    pending: asyncio.Future[bool] | None = None
    pending_cancel: Callable[[], None] | None = None


class ConcurrencyGroups:
    """Shared by every workflow and job of one run."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}

    async def acquire(
        self, group: str, *, cancel_in_progress: bool, cancel: Callable[[], None]
    ) -> bool:
        """Wait for the group; False means this member was replaced while pending (its
        result is then `cancelled`). `cancel` stops this member once it is running."""
        state = self._groups.setdefault(group.casefold(), _Group())
        if state.running is None:
            state.running = cancel
            return True
        if state.pending is not None and not state.pending.done():
            state.pending.set_result(False)
        if cancel_in_progress:
            state.running()
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        state.pending, state.pending_cancel = future, cancel
        try:
            return await future
        except asyncio.CancelledError:
            if state.pending is future:
                state.pending = None
            raise

    def release(self, group: str) -> None:
        """The running member finished: the pending one (if any) starts."""
        state = self._groups.get(group.casefold())
        if state is None:
            return
        state.running = None
        if state.pending is not None and not state.pending.done():
            state.running = state.pending_cancel
            state.pending.set_result(True)
        state.pending = state.pending_cancel = None
