"""`Notifier`: the `core.notices.Publisher` of one process (the reconciler's, or the CI
server's), delivering in the background.

`publish(notice)` only appends to a queue and wakes the worker (safe from any thread: the
CI service publishes from request worker threads, under its run lock); it never blocks
and never raises, so neither the reconcile loop nor CI waits on a receiver. The worker
(started by `start()`, or by the first `publish` made on a running event loop) routes each
notice (`notify.routing`), claims one delivery row per destination (a key recorded before
means the event was told already: nothing is sent), applies the destination's rate limit,
and runs each delivery as its own task (`notify.delivery`). `flush()` waits for what is
queued and in flight (for `conveyor reconcile --once` before it exits, and for tests).
Built by `app/` (the reconciler) and `server.main` (the CI server).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

import httpx

from conveyor.core.notices import Notice
from conveyor.notify.config import NotifyConfig
from conveyor.notify.delivery import Context, deliver
from conveyor.notify.ratelimit import RateLimits
from conveyor.notify.routing import Problem, Route, dedupe_key, routes
from conveyor.store.notify_store import DeliveryState, DeliveryStore

log = logging.getLogger(__name__)


class Notifier:
    """Routes and delivers notices in the background (see the module docstring)."""

    def __init__(
        self,
        config: NotifyConfig,
        store: DeliveryStore,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._sleep = sleep
        self._pending: deque[Notice] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._tasks: dict[asyncio.Task[DeliveryState], int] = {}  # in flight: delivery ids
        self._limits = RateLimits(clock)
        self._client: httpx.AsyncClient | None = None

    # -- the Publisher side (any thread) -------------------------------------------------

    def publish(self, notice: Notice) -> None:
        try:
            with self._lock:
                self._pending.append(notice)
            loop = self._loop
            if loop is None:
                self._start_here()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(self._poke)
        except Exception:  # a notice must never break the code that publishes it
            log.exception("notification %s for %s not queued", notice.trigger, notice.name)

    def _start_here(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop in this thread: `start()` drains what waits
        self.start()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # -- the worker (the event loop) -----------------------------------------------------

    def start(self) -> None:
        """Start the worker on the running loop (idempotent)."""
        if self._worker is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(follow_redirects=False)
        self._worker = self._loop.create_task(self._run())
        self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._pending:
                        break
                    notice = self._pending.popleft()
                self._dispatch(notice)

    def _dispatch(self, notice: Notice) -> None:
        try:
            found, problems = routes(self.config, notice)
            for problem in problems:
                self._record_problem(notice, problem)
            for route in found:
                self._begin(notice, route)
        except Exception:  # the store is down, …: this notice is lost, the worker lives
            log.exception("notification %s for %s not delivered", notice.trigger, notice.name)

    def _begin(self, notice: Notice, route: Route) -> None:
        dest = route.destination
        delivery = self.store.claim(
            key=route.key, now=self._clock(), **_row(notice, dest.name, dest.kind)
        )
        if delivery is None:
            log.debug(
                "notification %s for %s to %s: told before", notice.trigger, notice.name, dest.name
            )
            return
        if not self._limits.allow(dest.name, dest.rate):
            assert dest.rate is not None
            error = f"over the rate limit of {dest.rate.count} per {dest.rate.per:g}s; not sent"
            self.store.finish(
                delivery, state=DeliveryState.RATE_LIMITED, error=error, now=self._clock()
            )
            log.warning(
                "notification %s for %s to %s: %s", notice.trigger, notice.name, dest.name, error
            )
            return
        assert self._client is not None
        ctx = Context(
            store=self.store,
            client=self._client,
            retry=self.config.retry,
            clock=self._clock,
            sleep=self._sleep,
        )
        template = self.config.templates[notice.trigger]
        task = asyncio.get_running_loop().create_task(
            deliver(ctx, route, notice, template, delivery)
        )
        self._tasks[task] = delivery
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[DeliveryState]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("notification delivery crashed: %r", task.exception())

    def _record_problem(self, notice: Notice, problem: Problem) -> None:
        key = dedupe_key(notice, problem.destination, ("invalid",))
        row = {**_row(notice, problem.destination, ""), "state": DeliveryState.INVALID}
        if self.store.claim(key=key, now=self._clock(), error=problem.message, **row) is not None:
            log.warning("notification %s: %s", notice.trigger, problem.message)

    async def flush(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or in flight; False when `timeout` passed first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = not self._pending and not self._tasks
            if idle:
                return True
            await asyncio.sleep(0.02)
        return False

    async def aclose(self) -> None:
        """Stop the worker and the deliveries in flight, which are recorded as failed
        (interrupted): their key is claimed, so nothing would send them later."""
        flying = dict(self._tasks)
        for task in (*flying, *([self._worker] if self._worker else [])):
            task.cancel()
        await asyncio.gather(*flying, return_exceptions=True)
        for delivery in flying.values():
            error = "interrupted: the process stopped before the delivery ended"
            self.store.finish(delivery, state=DeliveryState.FAILED, error=error, now=self._clock())
        if self._worker is not None:
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        self._worker = self._client = None
        self._loop = None


def _row(notice: Notice, destination: str, kind: str) -> dict[str, object]:
    return {
        "trigger": notice.trigger.value,
        "subject": notice.subject.value,
        "name": notice.name,
        "revision": notice.revision,
        "destination": destination,
        "kind": kind,
        "message": notice.message,
    }
