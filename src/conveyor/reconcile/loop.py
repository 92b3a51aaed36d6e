"""The control loop around a `Reconciler`: passes on an interval, triggers in between.

* A full pass every `interval` (after re-reading the Application files through `reload`).
* Between passes, triggered apps are reconciled at once: `Reconciler.trigger` (the refresh
  API, a webhook, the post-receive hook of a Conveyor-hosted repo) and target events (a
  live object changed: drift is noticed without waiting for the interval).
* Apps still Progressing are re-queued after `PROGRESS_REQUEUE` seconds, so health turns
  Healthy promptly, and the dependents of an app that became Ready are triggered, so a
  `dependsOn` chain moves without waiting a full interval per link.
Called by `Reconciler.run` (and so by `conveyor reconcile`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from conveyor.reconcile.applications import Application
from conveyor.targets.base import Target

if TYPE_CHECKING:
    from conveyor.reconcile.reconciler import Reconciler

PROGRESS_REQUEUE = 1.0


async def run(
    rec: Reconciler,
    *,
    interval: float,
    stop: asyncio.Event,
    reload: Callable[[], Awaitable[Sequence[Application]]] | None = None,
) -> None:
    watchers = [asyncio.create_task(_watch(rec, t)) for t in rec.env.targets.values()]
    try:
        while not stop.is_set():
            if reload is not None:
                rec.set_apps(await reload())
            await rec.reconcile_all()
            requeue(rec)
            deadline = rec.env.clock() + interval
            while not stop.is_set() and rec.env.clock() < deadline:
                names = await rec.next_triggers(deadline - rec.env.clock(), stop)
                if names:
                    await rec.reconcile_apps(names)
                    requeue(rec, names)
    finally:
        for task in watchers:
            task.cancel()


def requeue(rec: Reconciler, names: Iterable[str] | None = None) -> None:
    """Re-trigger Progressing apps later, and dependents of apps that are now Ready."""
    loop = asyncio.get_running_loop()
    runtimes = {rt.app.name: rt for rt in rec.runtimes()}
    for name in names if names is not None else list(runtimes):
        rt = runtimes.get(name)
        if rt is None:
            continue
        if rt.health and rt.health.status == "Progressing":
            loop.call_later(PROGRESS_REQUEUE, rec.trigger, name)
        if rt.ready:
            for other in runtimes.values():
                if name in other.app.depends_on and not other.ready:
                    rec.trigger(other.app.name)


async def _watch(rec: Reconciler, target: Target) -> None:
    async for event in target.events():
        if event.app:  # names of apps this reconciler does not manage are dropped later
            rec.trigger(event.app)
