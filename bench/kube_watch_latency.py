"""Drift latency of the Kubernetes target's watches (issue 16: ≤ 200 ms from a watch event
to the queued reconcile), against kmock's KubernetesEmulator on a local port.

Run with `.venv/bin/python bench/kube_watch_latency.py [--objects 100] [--edits 100]`.
`--objects` Deployments are created first (the informer's cache holds them all), then
`--edits` PATCHes change one of them each, one after another, and then as one burst
sent concurrently. For each edit it measures:
* watch→yield: from the moment the informer read the event's line off the watch stream to
  the moment `DriftFeed.events()` yielded the `TargetEvent` (what Conveyor adds);
* PATCH→yield: from sending the PATCH to the event being yielded (adds the emulator's
  handling and its stream);
* the peer: the PATCH's own HTTP round trip measured in the same run, with the ratio of
  PATCH→yield to it.
Prints p50 / p95 / max in milliseconds. Emulator only: a real API server adds etcd and its
watch cache, which this cannot measure. The emulator's own PATCH handling grows with the
objects it holds (≈0.1 s at 100, ≈0.4 s at 500, measured here) and under a burst it
streams the events only after the burst's requests are answered, so the end-to-end numbers
are the emulator's; watch→yield is the part Conveyor owns.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.targets.kubernetes.kube_emulator import DEPLOYMENTS, create, deployment, emulator, url

from conveyor.clients.kube_watch import HttpListWatch, Scope
from conveyor.targets.base import TargetEvent
from conveyor.targets.kubernetes.watch import Watches
from conveyor.targets.kubernetes.watch_events import DriftFeed

HEADERS = {"Content-Type": "application/merge-patch+json"}


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{label:<22} p50 {statistics.median(ms):7.2f}  p95 {p95:7.2f}  max {ms[-1]:7.2f} ms"


async def timed_patch(source: HttpListWatch, name: str, replicas: int) -> tuple[float, float]:
    """(sent, answered) monotonic times of one PATCH."""
    sent = time.monotonic()
    body = {"spec": {"replicas": replicas}}
    resp = await source.http.patch(url(DEPLOYMENTS, "shop", name), json=body, headers=HEADERS)
    resp.raise_for_status()
    return sent, time.monotonic()


async def sequential(
    source: HttpListWatch, queue: asyncio.Queue[tuple[TargetEvent, float]], edits: int
) -> tuple[list[float], list[float]]:
    ends, round_trips = [], []
    for i in range(edits):
        sent, answered = await timed_patch(source, f"web-{i % 10}", 3 + i)
        _, yielded = await asyncio.wait_for(queue.get(), 5)
        ends.append(yielded - sent)
        round_trips.append(answered - sent)
    return ends, round_trips


async def burst(
    source: HttpListWatch, queue: asyncio.Queue[tuple[TargetEvent, float]], edits: int
) -> list[float]:
    sent = time.monotonic()
    await asyncio.gather(*(timed_patch(source, f"web-{i}", 1000 + i) for i in range(edits)))
    yielded = [(await asyncio.wait_for(queue.get(), 10))[1] for _ in range(edits)]
    return [y - sent for y in yielded]


async def main(objects: int, edits: int) -> None:
    async with emulator() as (_, source):
        for i in range(objects):
            await create(source, DEPLOYMENTS, deployment(f"web-{i}", app=f"app-{i % 50}"))
        feed = DriftFeed()
        watches = Watches(source, on_start=feed.attach)
        queue: asyncio.Queue[tuple[TargetEvent, float]] = asyncio.Queue()

        async def read() -> None:
            async for event in feed.events():
                queue.put_nowait((event, time.monotonic()))

        reader = asyncio.create_task(read())
        await watches.acquire(DEPLOYMENTS, Scope(namespace="shop")).synced.wait()
        await asyncio.sleep(0.2)  # let the emulator's replay of existing objects pass
        ends, round_trips = await sequential(source, queue, edits)
        own = list(feed.latencies)
        feed.latencies.clear()
        burst_ends = await burst(source, queue, min(edits, objects, 50))
        print(
            f"{objects} objects cached, {edits} edits one by one, then a burst of "
            f"{min(edits, objects, 50)}"
        )
        print(summary("watch→yield", own))
        print(summary("PATCH→yield", ends))
        print(summary("PATCH round trip (peer)", round_trips))
        ratio = statistics.median(ends) / statistics.median(round_trips)
        print(f"PATCH→yield / PATCH round trip (p50): {ratio:.2f}x")
        print(summary("burst watch→yield", list(feed.latencies)))
        print(summary("burst PATCH→yield (emulator-bound)", burst_ends))
        reader.cancel()
        await watches.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--edits", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.objects, args.edits))
