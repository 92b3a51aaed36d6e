"""Reconciler replicas as members of a group of Leases, and which apps this one owns.

Each replica holds its own Lease (`conveyor-reconciler-<pod>`, label
`conveyor.dev/shard-group=<group>`) through `clients.kubelease.LeaseLock`, renewing it
every `renew_every` seconds; the members are the holders of the group's Leases that have
not expired. `sharding.owner` maps each app's shard key to one member.

Safety: an app is never owned by two replicas at once, because ownership is only *taken*
after the replica that had it can no longer think it owns it:

* expiry is judged by each replica's own monotonic clock: a Lease counts as expired
  `leaseDurationSeconds` after this replica *saw* its holder or renewTime change (as
  client-go's leader election does), so clocks that disagree across nodes do not matter,
  and a Lease seen for the first time counts as live for a whole duration;
* an expired Lease still listed ends its holder's membership only once this replica has
  **deleted it conditionally** on the resourceVersion it listed (`kubelease.delete_stale`,
  a compare-and-swap on the API server, as client-go's takeover is an update conditional
  on the version read). A renewal that landed meanwhile makes the delete fail (409: the
  holder lives), and a renewal still in flight fails after it (404), so its holder
  re-creates its Lease and warms up. Without this, a holder whose renewals arrive late
  (a loaded node) could renew just after another replica listed, and both would own its
  apps until the next list;
* fencing: a replica owns nothing once its last successful renewal started more than
  `duration - renew_every` ago, so a replica that cannot reach the API server (or is
  stuck) lets go of its apps before anyone can see its Lease expire and take them;
* warm-up: a replica that acquired its Lease, or renewed it again after being fenced,
  owns nothing for one lease duration, while the others (renewing every `renew_every` <
  duration) see it and drop the apps it wins, or fence themselves;
* a replica that stops cleanly stops its loop first, then deletes its Lease; a Lease that
  vanishes (released, deleted by another member or by hand) still counts until it would
  have expired in this replica's eyes (a Lease deleted by hand must not hand over the apps
  of a replica that is still running).

So when a member dies its apps are owned by the others once its Lease has expired in their
eyes and one of them deleted it: within one lease duration plus one renewal period of its
last renewal. No Lease of a dead replica is left behind.

Each Lease may carry the annotation `conveyor.dev/endpoint`: the URL at which its holder's
`--listen` endpoint answers (`endpoint`), so that any replica can forward a request about
an app to the replica that owns it (app/shardroute).

Called by `reconcile.loop.Loop` (`owns_key`, `run`, `release`) and composed by
`conveyor reconcile --shard-lease` (app/cmd_reconcile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from conveyor.clients.kubelease import (
    KubeClient,
    LeaseLock,
    LeaseRecord,
    delete_stale,
    list_leases,
)
from conveyor.core.errors import ConveyorError
from conveyor.reconcile import sharding

log = logging.getLogger(__name__)

GROUP_LABEL = "conveyor.dev/shard-group"
LEASE_PREFIX = "conveyor-reconciler-"
ENDPOINT_ANNOTATION = "conveyor.dev/endpoint"


def member_lease(
    client: KubeClient,
    *,
    namespace: str,
    pod: str,
    identity: str,
    duration: int,
    group: str,
    endpoint: str = "",
) -> LeaseLock:
    """The Lease replica `pod` holds as a member of `group` in `namespace`: named
    `LEASE_PREFIX + pod`, labelled `GROUP_LABEL: group` (how the members list each other)
    and, with an `endpoint`, annotated with it (where the others forward requests to it).
    Opened by `app.shardlease`; the tests' replicas are made the same way."""
    return LeaseLock(
        client,
        namespace=namespace,
        name=LEASE_PREFIX + pod,
        identity=identity,
        duration=duration,
        labels={GROUP_LABEL: group},
        annotations={ENDPOINT_ANNOTATION: endpoint} if endpoint else None,
    )


@dataclass(frozen=True)
class Seen:
    """A Lease as this replica last saw it change, by its own monotonic clock."""

    holder: str
    renewed: object
    at: float
    duration: float
    endpoint: str = ""
    listed: bool = True  # in the last list; an expired listed Lease waits for its deletion

    def live(self, now: float) -> bool:
        """Still a member: not expired, or expired but not yet deleted by this replica."""
        return self.listed or now < self.at + self.duration


class Membership:
    """This replica's Lease, the group's live members, and the keys this replica owns."""

    def __init__(
        self,
        lock: LeaseLock,
        *,
        group: str,
        renew_every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock, self.group, self.clock = lock, group, clock
        self.duration = float(lock.duration)
        self.renew_every = renew_every if renew_every is not None else self.duration / 3
        if not 0 < self.renew_every < self.duration:
            raise ValueError("renew_every must be above 0 and below the lease duration")
        self._seen: dict[str, Seen] = {}
        self._renewed_at: float | None = None  # start of the last successful renewal
        self._held_since: float | None = None  # start of the renewal that acquired it
        self._acquired: object = None  # the acquireTime of our term (a takeover renews it)
        self._listeners: list[Callable[[], None]] = []
        self._members: tuple[str, ...] = ()
        self._timers: list[asyncio.TimerHandle] = []

    @property
    def identity(self) -> str:
        return self.lock.identity

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the set of keys this replica owns may have changed."""
        self._listeners.append(listener)

    # -- rounds ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """One round: renew (or acquire) our Lease, then read the group's Leases."""
        started = self.clock()
        try:
            mine = await self.lock.hold()
            leases = await list_leases(
                self.lock.client, self.lock.namespace, {GROUP_LABEL: self.group}
            )
        except ConveyorError as exc:
            log.warning("shard lease %s: %s; owning nothing once fenced", self.lock.name, exc)
            self._announce()
            return
        except Exception:  # a bug here must not stop the renewals: fencing covers the gap
            log.exception("shard lease %s: renewal failed; retrying", self.lock.name)
            self._announce()
            return
        if self._held_since is None or mine.acquired != self._acquired or not self.holding(started):
            # a new term, or back from being fenced (the others may have taken our apps
            # meanwhile): warm up again while they see us renewing and let go
            self._held_since, self._acquired = started, mine.acquired
        self._renewed_at = started
        self._observe(leases, self.clock())
        self._announce()
        await self._end_expired(leases)
        self._wake_at(started + self.duration - self.renew_every)  # fenced, if not renewed
        self._wake_at(self._held_since + self.duration)  # warm-up over

    def _observe(self, leases: list[LeaseRecord], now: float) -> None:
        """Note when each other holder's Lease changed. A Lease that vanished (released,
        or deleted by hand while its holder may still run) stays live until it would have
        expired: dropping it at once could hand its apps over while its holder works."""
        seen = {
            name: replace(s, listed=False)
            for name, s in self._seen.items()
            if now < s.at + s.duration
        }
        for lease in leases:
            if not lease.holder or lease.holder == self.identity:
                continue
            last = self._seen.get(lease.name)
            if last is not None and (last.holder, last.renewed) == (lease.holder, lease.renewed):
                seen[lease.name] = replace(last, listed=True)
            else:
                endpoint = lease.annotations.get(ENDPOINT_ANNOTATION, "")
                seen[lease.name] = Seen(
                    lease.holder, lease.renewed, now, float(lease.duration), endpoint
                )
        self._seen = seen

    async def _end_expired(self, leases: list[LeaseRecord]) -> None:
        """Delete the listed Leases that expired in this replica's eyes, each conditionally
        on the version listed; a deleted one's holder stops being a member at once (see the
        module docstring). A failed delete keeps the holder a member until a later round."""
        now = self.clock()
        for lease in leases:
            seen = self._seen.get(lease.name)
            if seen is None or now < seen.at + seen.duration or lease.version is None:
                continue  # live, ours, or nothing to make the delete conditional on
            try:
                deleted = await delete_stale(self.lock.client, self.lock.namespace, lease)
            except ConveyorError as exc:
                log.warning("expired shard lease %s not deleted: %s; next round", lease.name, exc)
                continue
            if deleted:
                log.info("deleted shard lease %s: %s stopped renewing it", lease.name, seen.holder)
                del self._seen[lease.name]
                self._announce()

    def _wake_at(self, when: float) -> None:
        """Announce again at `when` (this replica's clock): fencing and the end of the
        warm-up take effect then, even while a renewal request hangs."""
        delay = when - self.clock()
        if delay > 0:
            loop = asyncio.get_running_loop()
            self._timers = [t for t in self._timers if t.when() > loop.time()]
            self._timers.append(loop.call_later(delay, self._announce))

    def _announce(self) -> None:
        members = self.members()
        if members != self._members:
            log.info("shard members now %s (this replica: %s)", ", ".join(members), self.identity)
        self._members = members
        for listener in self._listeners:
            listener()

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds every `renew_every` seconds until `stop` is set."""
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.renew_every)

    async def release(self) -> None:
        """Own nothing from now on and delete our Lease (after the loop stopped)."""
        self._renewed_at = self._held_since = None
        for timer in self._timers:
            timer.cancel()
        try:
            await self.lock.release()
        except ConveyorError as exc:
            log.warning("shard lease %s not released: %s; it expires by itself", self.identity, exc)

    # -- ownership ------------------------------------------------------------------------

    def members(self) -> tuple[str, ...]:
        """The live members now: this replica while it holds its Lease, and every other
        holder seen renewing within its lease duration."""
        now = self.clock()
        others = {s.holder for s in self._seen.values() if s.live(now)}
        if self.holding(now):
            others.add(self.identity)
        return tuple(sorted(others))

    def holding(self, now: float) -> bool:
        """Our Lease is ours and fresh enough that nobody else can have taken our apps."""
        fence = self.duration - self.renew_every
        return self._renewed_at is not None and now < self._renewed_at + fence

    def settled(self) -> bool:
        """Holding, and past the warm-up that lets the others drop what we now win."""
        now = self.clock()
        return (
            self.holding(now)
            and self._held_since is not None
            and now >= self._held_since + self.duration
        )

    def owner(self, key: str) -> str | None:
        """The identity of the member that owns `key` in this replica's view (None: no
        live member); the owner may still be warming up."""
        return sharding.owner(key, self.members())

    def endpoint(self, identity: str) -> str:
        """Where member `identity` answers (its Lease's endpoint annotation; "" unknown)."""
        if identity == self.identity:
            return self.lock.annotations.get(ENDPOINT_ANNOTATION, "")
        return next((s.endpoint for s in self._seen.values() if s.holder == identity), "")

    def owns_key(self, key: str) -> bool:
        """Whether this replica reconciles apps with this shard key now."""
        return self.settled() and sharding.owner(key, self.members()) == self.identity
