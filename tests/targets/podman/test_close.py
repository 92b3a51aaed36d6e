"""Closing the Podman target's controller ends every probe task, even one that lost a
cancellation (Python 3.11's `asyncio.wait_for` can drop one: CPython gh-86296). Before
this, `conveyor reconcile --once` could hang at exit after a rollout."""

from __future__ import annotations

import asyncio

from conveyor.targets.podman.controller import cancel_all


async def _swallows_the_first_cancel(ticks: list[int]) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()  # type: ignore[union-attr]  # as wait_for's race does
    while True:
        ticks.append(1)
        await asyncio.sleep(0.01)


def test_cancel_all_ends_a_task_that_swallowed_its_first_cancellation() -> None:
    async def scenario() -> None:
        ticks: list[int] = []
        stubborn = asyncio.create_task(_swallows_the_first_cancel(ticks))
        plain = asyncio.create_task(asyncio.sleep(3600))
        await asyncio.sleep(0)
        await asyncio.wait_for(cancel_all([stubborn, plain]), 5)
        assert stubborn.done() and plain.done()
        assert ticks  # it really did run on after the first cancel

    asyncio.run(scenario())
