"""Removing replicas the way a Service's clients do not notice: out of rotation, drained,
then removed in the background.

`Removals.remove` marks the replicas draining in the replica table, has the routes
republished without them, and removes their containers `DRAIN_SECONDS` later, in a task of
its own (the tick does not wait for podman, so a rollout's next step starts at once); the
table's `removed_by_us` tells the controller that their disappearance is not drift.
Built by `controller.Controller`; called by `healing.Healer`, `workloads.Workloads`, the
controller's orphan collection and `target.PodmanTarget.delete`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from conveyor.targets.podman.replicas import ReplicaTable

DRAIN_SECONDS = 1.5


class Removals:
    """The replica removals under way."""

    def __init__(
        self,
        *,
        table: ReplicaTable,
        delete: Callable[[Sequence[str]], Awaitable[None]],
        publish: Callable[[], Awaitable[None]],
        wake: Callable[[], None],
    ) -> None:
        """`delete` removes containers, `publish` republishes the routes, `wake` asks the
        controller for a tick."""
        self.table = table
        self.delete = delete
        self.publish = publish
        self.wake = wake
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def remove(self, names_: list[str]) -> None:
        """Take replicas out of rotation, let in-flight requests finish, then remove them."""
        if not names_:
            return
        self.table.draining.update(names_)
        await self.publish()
        self.table.removed_by_us.update(names_)
        task = asyncio.create_task(self._remove_later(names_))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remove_later(self, names_: list[str]) -> None:
        # Out of rotation already; in-flight requests get DRAIN_SECONDS, then the container
        # goes. The tick does not wait for podman, so the rollout's next step starts now.
        await asyncio.sleep(DRAIN_SECONDS)
        await self.delete(names_)
        self.wake()

    async def wait(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await asyncio.sleep(0)  # let the done-callbacks empty the set
