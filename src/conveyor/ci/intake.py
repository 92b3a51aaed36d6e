"""Hands spooled pushes (`ci.pushspool`) to the CI service, each ref update exactly once.

`CIService` owns one `PushIntake`, given its spool and `handle` (the service's
`handle_push` for one ref update under its delivery id, which records the delivery and its
runs in one transaction and adds nothing for a delivery it has seen). The smart-HTTP route
asks `receiving(id)` for the environment git needs, runs the receive, then `take(id)`:
the push's events are queued before the client hears back, as before. `run` drains what is
left in the spool when the server starts and then every `every` seconds: pushes a killed
server had received but not queued, and receives that were still finishing (git runs on
when the server that started it dies) when it started again. A file is removed only after
every update in it was handed over; one that cannot be read is set aside as `.bad` and
logged, never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from conveyor.ci.pushspool import PushSpool, ReceivedPush, RefUpdate, SpoolError
from conveyor.core.errors import ConveyorError

log = logging.getLogger(__name__)

#: one ref update of a push, under its delivery id: the runs it started ([] if none new)
Handle = Callable[[ReceivedPush, RefUpdate, str], Awaitable[list[int]]]


class PushIntake:
    """The spool's reader: `receiving` → (git runs the hook) → `take`; `run` drains."""

    def __init__(self, spool: PushSpool, handle: Handle) -> None:
        self.spool = spool
        self.handle = handle
        self._busy: set[str] = set()  # pushes a request of this process is receiving

    def receiving(self, push_id: str, *, repo: str, pusher: str) -> dict[str, str]:
        """Mark `push_id` as in flight here (`drain` leaves it alone); git's environment."""
        self._busy.add(push_id)
        return self.spool.env(push_id, repo=repo, pusher=pusher)

    async def take(self, push_id: str) -> list[int]:
        """Queue the push git spooled under `push_id` (if the receive changed any ref)."""
        try:
            path = self.spool.path(push_id)
            return await self._take(path) if path.exists() else []
        finally:
            self._busy.discard(push_id)

    async def drain(self) -> list[int]:
        """Queue every spooled push no request of this process is handling; the run ids."""
        ids: list[int] = []
        for path in self.spool.pending():
            if path.stem not in self._busy:
                ids += await self._take(path)
        return ids

    async def run(self, stop: asyncio.Event, *, every: float = 2.0) -> None:
        """Drain now, then every `every` seconds until `stop`; a failed drain is retried."""
        while not stop.is_set():
            try:
                ids = await self.drain()
            except ConveyorError as exc:  # the database is down: the files wait for it
                log.warning("spooled pushes not queued yet (%s); trying again in %gs", exc, every)
            else:
                if ids:
                    log.info("queued runs %s from spooled pushes", ids)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    async def _take(self, path: Path) -> list[int]:
        try:
            push = await asyncio.to_thread(self.spool.read, path)
        except SpoolError as exc:
            bad = self.spool.set_aside(path)
            log.error("%s; set aside as %s, no run starts for it", exc, bad)
            return []
        ids: list[int] = []
        for index, update in enumerate(push.updates):
            ids += await self.handle(push, update, push.delivery(index))
        self.spool.remove(path)  # only now: a crash before this hands it over again, harmlessly
        return ids
