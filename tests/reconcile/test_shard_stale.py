"""Leases of replicas that died are deleted by the live members once expired, and only that
conditional delete ends their holders' membership, over kmock's
KubernetesEmulator (with tests/clients/kubeemu.py's resourceVersion rules, including
DeleteOptions preconditions, written from the API documentation). Each replica's
monotonic clock is a settable one: `tick()` is called by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import kmock

from conveyor.reconcile.membership import (
    LEASE_PREFIX,
    Membership,
    member_lease,
)
from tests.clients.kubeemu import Emulated, emulated
from tests.deploy.podlocal import find
from tests.deploy.rendering import default_values, render_chart

LEASES = kmock.resource("coordination.k8s.io", "v1", "leases")
DURATION = 3


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replica(emu: Emulated, pod: str, clock: Clock) -> Membership:
    lock = member_lease(
        emu.client(),
        namespace="conveyor",
        pod=pod,
        identity=f"{pod}_{time.monotonic_ns():x}",
        duration=DURATION,
        group="g",
        endpoint=f"http://{pod}.test:8081",
    )
    return Membership(lock, group="g", renew_every=1, clock=clock)


def run(body: Callable[[Emulated], object]) -> None:
    async def go() -> None:
        async with emulated() as emu:
            await body(emu)  # type: ignore[misc]

    asyncio.run(go())


def present(emu: Emulated, pod: str) -> bool:
    key = (LEASES, "conveyor", LEASE_PREFIX + pod)
    return key in emu.emulator.objects and not emu.emulator.objects[key].deleted


def test_a_dead_replicas_lease_is_deleted_once_expired_and_only_then_is_it_no_member() -> None:
    async def body(emu: Emulated) -> None:
        clock = Clock()
        a, b = replica(emu, "a", clock), replica(emu, "b", clock)
        await b.tick()
        await a.tick()
        assert a.endpoint(b.identity) == "http://b.test:8081"  # read from b's Lease
        assert a.endpoint(a.identity) == "http://a.test:8081"
        # b dies: it never renews again; a goes on
        clock.now += DURATION - 0.5
        await a.tick()
        assert present(emu, "b") and b.identity in a.members()  # not expired yet
        clock.now += 1
        # expired in a's eyes, but still listed: a member until a has deleted its Lease …
        assert b.identity in a.members()
        await a.tick()  # … which the next round does, conditionally on the version listed
        assert not present(emu, "b") and b.identity not in a.members()
        assert present(emu, "a")  # a member never deletes its own Lease

    run(body)


def test_a_lease_that_keeps_being_renewed_is_never_deleted() -> None:
    async def body(emu: Emulated) -> None:
        clock = Clock()
        a, b = replica(emu, "a", clock), replica(emu, "b", clock)
        for _ in range(6 * DURATION):
            await b.tick()
            await a.tick()
            clock.now += 1
        assert present(emu, "b") and b.identity in a.members()

    run(body)


def test_a_replica_whose_lease_was_deleted_recreates_it_and_warms_up_first() -> None:
    """b stalls past its Lease's expiry, a deletes the Lease; b's next rounds re-create it
    and b owns nothing for one lease duration, while a sees it again and lets go."""

    async def body(emu: Emulated) -> None:
        clock = Clock()
        a, b = replica(emu, "a", clock), replica(emu, "b", clock)
        await b.tick()
        await a.tick()
        clock.now += DURATION + 0.5
        await a.tick()
        assert not present(emu, "b")
        await b.tick()  # its renewal finds no Lease (404): fenced, re-read next round
        await b.tick()
        assert present(emu, "b") and not b.settled()
        await a.tick()
        assert b.identity in a.members()
        for _ in range(DURATION):  # renewing every second (its renewal period)
            clock.now += 1
            await b.tick()
        assert b.settled()

    run(body)


#: kmock's request actions as Kubernetes RBAC verbs (a FETCH is a GET of one object).
VERBS = {"fetch": "get", "list": "list", "create": "create", "update": "patch", "delete": "delete"}


def test_the_lease_verbs_the_members_use_are_exactly_the_charts_leases_role() -> None:
    """Join, renew, take over, delete a dead member's Lease and release: every request the
    membership code sends maps to a verb the chart's leases Role grants, and every granted
    verb is used (least privilege both ways)."""

    async def body(emu: Emulated) -> None:
        clock = Clock()
        a, b = replica(emu, "a", clock), replica(emu, "b", clock)
        await b.tick()
        await a.tick()
        clock.now += DURATION + 1
        await a.tick()  # b's Lease deleted
        await a.release()
        used = {
            VERBS[str(r.action.value).lower()] for r in list(emu.emulator) if r.resource == LEASES
        }
        role = find(render_chart(default_values(replicas=3)), "Role", "conveyor-reconciler-leases")
        (rule,) = role["rules"]
        assert rule["resources"] == ["leases"]
        assert used == set(rule["verbs"])

    run(body)
