"""Reconciler replicas sharded by Leases: three members over kmock's KubernetesEmulator
(with the resourceVersion rules of tests/clients/kubeemu.py), each with its own lightkube
client, 1-second Leases renewed every 0.25 s, in real time.

A sampler reads every replica's `owns_key` for 300 apps every 10 ms (one event loop, so
each sample is one instant): no sample may show an app owned by two replicas, and after a
replica stops renewing its apps must be owned by the others within the lease duration plus
one renewal period. The stopped replica keeps being asked (as a partitioned pod would go
on running): its own fencing must drop the apps before anyone takes them."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from conveyor.reconcile.membership import LEASE_PREFIX, Membership, member_lease
from tests.clients.kubeemu import Emulated, emulated

KEYS = [f"app-{i:03d}" for i in range(300)]
DURATION, RENEW = 1, 0.25
HANDOVER_BOUND = DURATION + RENEW + 2.0  # + scheduling slack of a loaded shared machine


def replica(emu: Emulated, pod: str) -> Membership:
    lock = member_lease(
        emu.client(),
        namespace="conveyor",
        pod=pod,
        identity=f"{pod}_{time.monotonic_ns():x}",
        duration=DURATION,
        group="g",
    )
    return Membership(lock, group="g", renew_every=RENEW)


@dataclass
class Sampler:
    """Owners of every key per instant; double ownership is recorded, never allowed."""

    replicas: list[Membership]
    doubles: list[tuple[str, list[str]]] = field(default_factory=list)
    samples: int = 0

    def owners(self) -> dict[str, list[str]]:
        return {k: [r.identity for r in self.replicas if r.owns_key(k)] for k in KEYS}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for key, who in self.owners().items():
                if len(who) > 1:
                    self.doubles.append((key, who))
            self.samples += 1
            await asyncio.sleep(0.01)

    async def until(
        self, predicate: Callable[[dict[str, list[str]]], bool]
    ) -> tuple[float, dict[str, list[str]]]:
        """Seconds until `predicate(owners)` holds (10 s at most), and those owners."""
        start = time.monotonic()
        while not predicate(owners := self.owners()):
            assert time.monotonic() - start < 10, "ownership never settled"
            await asyncio.sleep(0.005)
        return time.monotonic() - start, owners


def all_owned_by(identities: set[str]) -> Callable[[dict[str, list[str]]], bool]:
    return lambda owners: all(len(w) == 1 and w[0] in identities for w in owners.values())


def run(body: Callable[[Emulated], object]) -> None:
    async def go() -> None:
        async with emulated() as emu:
            await body(emu)  # type: ignore[misc]

    asyncio.run(go())


def test_a_replica_that_stops_renewing_hands_its_apps_over_within_the_lease_duration() -> None:
    measured: dict[str, float] = {}

    async def body(emu: Emulated) -> None:
        replicas = [replica(emu, f"r{i}") for i in range(3)]
        stops = [asyncio.Event() for _ in replicas]
        sampler, sampling = Sampler(replicas), asyncio.Event()
        tasks = [asyncio.create_task(r.run(s)) for r, s in zip(replicas, stops, strict=True)]
        tasks.append(asyncio.create_task(sampler.run(sampling)))
        everyone = {r.identity for r in replicas}
        measured["start"], before = await sampler.until(all_owned_by(everyone))
        shares = {who: sum(w == [who] for w in before.values()) for who in everyone}
        assert min(shares.values()) > 60, shares  # ~100 each
        dead = replicas[2]
        tasks[2].cancel()  # stops renewing, without releasing, and keeps running
        survivors = {r.identity for r in replicas[:2]}
        measured["handover"], after = await sampler.until(all_owned_by(survivors))
        moved = {k for k in KEYS if before[k] != after[k]}
        assert moved == {k for k in KEYS if before[k] == [dead.identity]}  # only its apps
        assert not any(dead.owns_key(k) for k in KEYS)
        sampling.set()
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert sampler.samples > 20 and sampler.doubles == []

    run(body)
    print(f"settled after {measured['start']:.2f}s, handover took {measured['handover']:.2f}s")
    assert measured["handover"] <= HANDOVER_BOUND


def test_a_joining_replica_takes_its_share_only_after_the_others_let_go() -> None:
    async def body(emu: Emulated) -> None:
        replicas = [replica(emu, f"r{i}") for i in range(2)]
        stop, sampling = asyncio.Event(), asyncio.Event()
        sampler = Sampler(replicas)
        tasks = [asyncio.create_task(r.run(stop)) for r in replicas]
        tasks.append(asyncio.create_task(sampler.run(sampling)))
        await sampler.until(all_owned_by({r.identity for r in replicas}))
        newcomer = replica(emu, "r2")
        replicas.append(newcomer)  # the sampler watches it from its first instant
        tasks.append(asyncio.create_task(newcomer.run(stop)))
        took, _ = await sampler.until(lambda o: any(newcomer.identity in w for w in o.values()))
        assert took >= DURATION  # its warm-up: the others had a lease duration to let go
        await sampler.until(all_owned_by({r.identity for r in replicas}))
        sampling.set()
        stop.set()
        await asyncio.gather(*tasks)
        assert sampler.doubles == []

    run(body)


def test_a_replica_that_leaves_cleanly_deletes_its_lease_and_its_apps_move() -> None:
    async def body(emu: Emulated) -> None:
        replicas = [replica(emu, f"r{i}") for i in range(2)]
        stops = [asyncio.Event() for _ in replicas]
        sampler, sampling = Sampler(replicas), asyncio.Event()
        tasks = [asyncio.create_task(r.run(s)) for r, s in zip(replicas, stops, strict=True)]
        tasks.append(asyncio.create_task(sampler.run(sampling)))
        await sampler.until(all_owned_by({r.identity for r in replicas}))
        stops[1].set()
        await tasks[1]
        await replicas[1].release()
        assert not any(replicas[1].owns_key(k) for k in KEYS)  # at once, not after fencing
        leases = {key[2]: obj for key, obj in emu.emulator.objects.items()}
        assert leases[LEASE_PREFIX + "r1"].deleted and not leases[LEASE_PREFIX + "r0"].deleted
        took, _ = await sampler.until(all_owned_by({replicas[0].identity}))
        assert took <= HANDOVER_BOUND
        sampling.set()
        stops[0].set()
        await asyncio.gather(*tasks)
        assert sampler.doubles == []

    run(body)


def test_a_replica_cut_off_fences_itself_before_its_apps_move_and_warms_up_on_return() -> None:
    """The replica keeps running and keeps trying to renew, but every request fails to
    connect (its client now points at a closed port): it must own nothing before the
    others see its Lease expire."""

    async def body(emu: Emulated) -> None:
        replicas = [replica(emu, f"r{i}") for i in range(3)]
        stop, sampling = asyncio.Event(), asyncio.Event()
        sampler = Sampler(replicas)
        tasks = [asyncio.create_task(r.run(stop)) for r in replicas]
        tasks.append(asyncio.create_task(sampler.run(sampling)))
        _, before = await sampler.until(all_owned_by({r.identity for r in replicas}))
        cut, reachable = replicas[2], replicas[2].lock.client
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        unreachable = Emulated(None, f"http://127.0.0.1:{closed_port}").client()
        cut.lock.client = unreachable
        took, after = await sampler.until(all_owned_by({r.identity for r in replicas[:2]}))
        assert took <= HANDOVER_BOUND
        assert {k for k in KEYS if before[k] != after[k]} == {
            k for k in KEYS if before[k] == [cut.identity]
        }
        cut.lock.client = reachable  # back, renewing the same term: warms up again
        took, _ = await sampler.until(lambda owners: owners == before)  # its share again
        assert took >= DURATION
        sampling.set()
        stop.set()
        await asyncio.gather(*tasks)
        await unreachable.close()
        assert sampler.samples > 20 and sampler.doubles == []

    run(body)
