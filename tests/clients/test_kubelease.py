"""Leases through lightkube against kmock's KubernetesEmulator: create, renew, conflict,
takeover after expiry, release, conditional deletion of a stale Lease.

The emulator assigns and checks no resourceVersion; `kubeemu.VersionedEmulator` adds
those rules (written from the API documentation, not observed on a server), so the
conflict tests exercise our client against our model of the server. The last test
replays a recorded 409 `Status` (tests/clients/recorded/, written by us in the API's
shape, `application/json` as the server sends it) on the plain emulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import kmock
import pytest

from conveyor.clients.kubelease import (
    LeaseConflict,
    LeaseHeld,
    LeaseLock,
    delete_stale,
    list_leases,
)

from .kubeemu import Emulated, emulated

NS = "conveyor"
LEASES = kmock.resource("coordination.k8s.io", "v1", "leases")
RECORDED = Path(__file__).parent / "recorded" / "lease_conflict_409.json"
T0 = dt.datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=dt.UTC)


class Wall:
    """A settable wall clock for renewTime and expiry."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def lock(
    emu: Emulated, identity: str, wall: Wall, name: str = "conveyor-reconciler-a"
) -> LeaseLock:
    return LeaseLock(
        emu.client(),
        namespace=NS,
        name=name,
        identity=identity,
        duration=15,
        labels={"conveyor.dev/shard-group": "g"},
        now=wall,
    )


def stored(emulator: Any, name: str = "conveyor-reconciler-a") -> dict[str, Any]:
    return dict(emulator.objects[LEASES, NS, name].raw)


def run(body: Callable[[Any, Emulated], Awaitable[None]], **kwargs: Any) -> None:
    async def go() -> None:
        async with emulated(**kwargs) as emu:
            await body(emu.emulator, emu)

    asyncio.run(go())


def test_a_missing_lease_is_created_with_us_as_holder() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        held = await lock(emu, "pod-a_1", Wall()).hold()
        assert (held.holder, held.transitions, held.duration) == ("pod-a_1", 0, 15)
        assert held.renewed == held.acquired == T0 and held.version == "1"
        obj = stored(emulator)
        assert obj["metadata"]["labels"] == {"conveyor.dev/shard-group": "g"}
        assert obj["spec"]["renewTime"] == "2026-12-06T12:00:00.123456Z"

    run(body)


def test_renewing_advances_renew_time_with_the_last_resource_version_as_precondition() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        a = lock(emu, "pod-a_1", wall)
        first = await a.hold()
        wall.advance(5)
        second = await a.hold()
        assert second.renewed == T0 + dt.timedelta(seconds=5)
        assert second.acquired == T0 and second.holder == "pod-a_1"
        assert int(second.version or 0) > int(first.version or 0)
        assert emulator.preconditions == [first.version]

    run(body)


def test_a_live_lease_of_another_holder_is_not_taken() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        await lock(emu, "pod-a_1", wall).hold()
        wall.advance(14.9)
        with pytest.raises(LeaseHeld, match="held by pod-a_1"):
            await lock(emu, "pod-a_2", wall).hold()
        assert stored(emulator)["spec"]["holderIdentity"] == "pod-a_1"

    run(body)


def test_an_expired_lease_is_taken_over_and_the_old_holder_rereads_on_conflict() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        old, new = lock(emu, "pod-a_1", wall), lock(emu, "pod-a_2", wall)
        await old.hold()
        wall.advance(15)  # renewTime + leaseDurationSeconds has passed
        taken = await new.hold()
        assert (taken.holder, taken.transitions, taken.acquired) == ("pod-a_2", 1, wall.at)
        # the old holder wakes up and renews from its cached resourceVersion: 409, re-read
        with pytest.raises(LeaseHeld, match="held by pod-a_2"):
            await old.hold()
        assert emulator.conflicts == 1
        assert stored(emulator)["spec"]["holderIdentity"] == "pod-a_2"

    run(body)


def test_two_replicas_racing_for_an_expired_lease_one_wins() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        await lock(emu, "pod-a_0", wall).hold()
        wall.advance(60)
        racers = [lock(emu, f"pod-a_{i}", wall) for i in (1, 2)]
        results = await asyncio.gather(*(r.hold() for r in racers), return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, LeaseHeld)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert stored(emulator)["spec"]["holderIdentity"] == winners[0].holder
        assert stored(emulator)["spec"]["leaseTransitions"] == 1  # one takeover, not two

    run(body)


def test_release_deletes_our_lease_and_leaves_another_holders_alone() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        a, b = lock(emu, "pod-a_1", wall), lock(emu, "pod-b_1", wall, "conveyor-reconciler-b")
        await a.hold()
        await b.hold()
        await lock(emu, "pod-x_9", wall).release()  # not the holder: nothing happens
        assert [r.holder for r in await list_leases(a.client, NS, a.labels)] == [
            "pod-a_1",
            "pod-b_1",
        ]
        await a.release()
        assert emulator.objects[LEASES, NS, "conveyor-reconciler-a"].deleted
        assert [r.holder for r in await list_leases(a.client, NS, a.labels)] == ["pod-b_1"]

    run(body)


def test_list_keeps_only_leases_with_the_group_label() -> None:
    """kmock ignores `labelSelector`; the client filters too (a real server filters first)."""

    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        await lock(emu, "pod-a_1", wall).hold()
        other = LeaseLock(emu.client(), namespace=NS, name="leader", identity="x", duration=5)
        await other.hold()
        found = await list_leases(other.client, NS, {"conveyor.dev/shard-group": "g"})
        assert [r.name for r in found] == ["conveyor-reconciler-a"]

    run(body)


def test_a_recorded_409_status_is_retried_after_a_reread_then_reported() -> None:
    """Recorded traffic: the API server's 409 Conflict for a Lease update, replayed on the
    plain emulator (which never answers 409 to an update)."""

    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        a = lock(emu, "pod-a_1", wall)
        await a.hold()
        recorded = RECORDED.read_bytes()
        assert json.loads(recorded)["reason"] == "Conflict"
        (
            emulator["patch", LEASES, kmock.name("conveyor-reconciler-a")]
            << 409
            << kmock.headers({"Content-Type": "application/json"})
            << kmock.body(recorded)
        )
        with pytest.raises(LeaseConflict, match="changed under us 2 times"):
            await a.hold()
        patches = [r for r in list(emulator) if r.method == kmock.method.PATCH]
        gets = [r for r in list(emulator) if r.method == kmock.method.GET]
        assert len(patches) == 2 and len(gets) == 2  # each conflict re-read the Lease

    run(body, cls=kmock.KubernetesEmulator)


def test_a_stale_lease_is_deleted_only_at_the_resource_version_read() -> None:
    """DeleteOptions preconditions: the emulator's 409 for a changed resourceVersion is
    `kubeemu`'s model of the API server's, written from the API documentation."""

    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        a = lock(emu, "pod-a_1", wall)
        await a.hold()
        (read,) = await list_leases(a.client, NS, a.labels)
        wall.advance(5)
        await a.hold()  # renewed after it was read: the old version no longer matches
        assert not await delete_stale(a.client, NS, read)
        assert not emulator.objects[LEASES, NS, "conveyor-reconciler-a"].deleted
        (current,) = await list_leases(a.client, NS, a.labels)
        assert await delete_stale(a.client, NS, current)
        assert emulator.objects[LEASES, NS, "conveyor-reconciler-a"].deleted
        assert not await delete_stale(a.client, NS, current)  # gone already: 404, no error

    run(body)


def test_annotations_are_written_on_create_and_replaced_on_takeover() -> None:
    async def body(emulator: Any, emu: Emulated) -> None:
        wall = Wall()
        a = lock(emu, "pod-a_1", wall)
        a.annotations = {"conveyor.dev/endpoint": "http://10.0.0.1:8081"}
        await a.hold()
        assert stored(emulator)["metadata"]["annotations"] == a.annotations
        wall.advance(16)
        b = lock(emu, "pod-a_2", wall)
        b.annotations = {"conveyor.dev/endpoint": "http://10.0.0.2:8081"}
        taken = await b.hold()
        assert taken.annotations == b.annotations
        assert stored(emulator)["metadata"]["annotations"] == b.annotations

    run(body)
