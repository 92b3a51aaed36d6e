"""A PreSync hook as a real Job, run by `reconcile.sync` on kmock's KubernetesEmulator:
created, waited for through the watch cache (`ChangeFeed.changed`, no polling), and
deleted by its delete policy.

`EmulatedTarget` is a test harness, not the Kubernetes target (issue 16's apply side is
written elsewhere): it writes through the emulator's HTTP API, reads the informer cache
and answers `changed` from the shared watches. The emulator runs no Job controller, so the
test plays it: it writes the Job's status as the controller would (the Complete or Failed
condition), through the emulator. Verified against the emulator only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from typing import Any

from conveyor.clients.kube_watch import HttpListWatch, Scope
from conveyor.reconcile import sync
from conveyor.reconcile.model import Phase, PruneDecision, ResultCode, Step, SyncPlan, Wave
from conveyor.targets.base import (
    APPLY,
    ApplyOptions,
    ChangeFeed,
    Manifest,
    NormalizationRule,
    ObjectRef,
    Propagation,
    TargetEvent,
)
from conveyor.targets.kubernetes.informer import Backoff
from conveyor.targets.kubernetes.watch import Watches, changed
from conveyor.targets.kubernetes.watch_events import DriftFeed
from tests.targets.kubernetes.kube_emulator import JOBS, emulator, patch, url

MIGRATE = ObjectRef(group="batch", kind="Job", namespace="shop", name="migrate")


class EmulatedTarget:
    """Writes to the emulator, reads the watch cache; counts `get` calls."""

    def __init__(self, source: HttpListWatch, watches: Watches, feed: DriftFeed) -> None:
        self.source, self.watches, self.feed = source, watches, feed
        self.gets = 0

    @property
    def name(self) -> str:
        return "emulated"

    @property
    def normalization(self) -> tuple[NormalizationRule, ...]:
        return ()

    async def apply(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest:
        resp = await self.source.http.post(url(JOBS, obj["metadata"]["namespace"]), json=obj)
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    async def delete(
        self, ref: ObjectRef, *, propagation: Propagation = Propagation.FOREGROUND
    ) -> bool:
        resp = await self.source.http.delete(url(JOBS, ref.namespace, ref.name))
        return resp.status_code == 200

    async def get(self, ref: ObjectRef) -> Manifest | None:
        self.gets += 1
        return self.watches.informer_for(ref).get(ref.namespace, ref.name)

    async def list_owned(self, app: str) -> list[Manifest]:
        return []

    def events(self) -> AsyncIterator[TargetEvent]:
        return self.feed.events()

    async def changed(self, refs: Collection[ObjectRef], timeout: float) -> None:
        await changed(self.watches, refs, timeout)


def hook_job(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "migrate",
            "namespace": "shop",
            "labels": {"conveyor.dev/app": "shop"},
            "annotations": {
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": policy,
            },
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": "migrate:1"}],
                }
            },
        },
    }


def plan_of(obj: dict[str, Any], policy: str) -> SyncPlan:
    step = Step(
        ref=MIGRATE, obj=obj, phase=Phase.PRE_SYNC, wave=0, hook=True, delete_policies=(policy,)
    )
    wave = Wave(phase=Phase.PRE_SYNC, wave=0, steps=(step,))
    return SyncPlan(
        app="shop", revision="r1", digest="d1", pairs=(), waves=(wave,), prune=PruneDecision()
    )


async def controller_finishes(source: HttpListWatch, condition: dict[str, str]) -> None:
    """Plays the Job controller: once the Job exists, reports it finished 0.3 s later."""
    while (await source.http.get(url(JOBS, "shop", "migrate"))).status_code != 200:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    await patch(source, JOBS, "shop", "migrate", {"status": {"conditions": [condition]}})


async def run_hook(policy: str, condition: dict[str, str]) -> tuple[list[Any], int, float, int]:
    async with emulator() as (_, source):
        feed = DriftFeed()
        watches = Watches(source, backoff=Backoff(initial=0.05), on_start=feed.attach)
        target = EmulatedTarget(source, watches, feed)
        assert isinstance(target, ChangeFeed)
        await watches.acquire(JOBS, Scope(namespace="shop")).synced.wait()
        playing = asyncio.create_task(controller_finishes(source, condition))
        started = time.monotonic()
        options = sync.SyncOptions(wave_timeout=5.0, poll=0.02)
        results = await sync.execute(plan_of(hook_job(policy), policy), target, options)
        took = time.monotonic() - started
        await playing
        left = (await source.http.get(url(JOBS, "shop", "migrate"))).status_code
        await watches.close()
        return results, target.gets, took, left


def test_a_presync_hook_job_is_waited_for_on_watch_events_and_deleted_when_it_succeeds() -> None:
    done = {"type": "Complete", "status": "True", "reason": "CompletionsReached"}
    results, gets, took, left = asyncio.run(run_hook("HookSucceeded", done))
    assert [(r.ref, r.code) for r in results] == [(MIGRATE, ResultCode.SYNCED)]
    assert took >= 0.3
    # Polling every 0.02 s would read the Job ~15 times in 0.3 s; events wake the wait
    # when the Job appears in the cache and when it completes.
    assert gets <= 4
    assert left == 404  # HookSucceeded deleted it


def test_a_failed_hook_job_fails_the_sync_with_the_jobs_message_and_stays_for_inspection() -> None:
    failed = {
        "type": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": "Job has reached the specified backoff limit",
    }
    results, _, _, left = asyncio.run(run_hook("HookSucceeded", failed))
    codes = [(r.ref, r.code) for r in results]
    assert (MIGRATE, ResultCode.HOOK_FAILED) in codes
    assert "backoff limit" in results[-1].message
    assert left == 200  # only HookFailed would have deleted it
