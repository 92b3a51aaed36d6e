"""The reconciler: makes every application's target match Git, one pass at a time.

`Reconciler` owns the run state of all apps and runs the step functions of `steps` for
each (fetch → render → observe → [auto-sync decision → sync] → health → summarize). It
knows nothing of when it runs: `reconcile.loop.Loop` holds it and owns the work queue,
the triggers and the requeues.

* A full pass (`reconcile_all`) fetches each repository once and resolves the tree ids of
  every app path (`reconcile.fetching`), then reconciles apps concurrently;
  an app with `spec.dependsOn` waits for its dependencies' outcome in the same pass and
  stays "Blocked on X" unless they are Synced and Healthy.
* `reconcile_apps(names)` reconciles just those apps (what the loop calls for triggered
  and requeued apps, and `settle` for apps still moving).
* Sharding (several replicas): `ownership` (`reconcile.ownership`) says which apps this
  replica owns; passes, triggers, deletions and manual syncs touch only those, checked
  again right before each app starts.
* State (inventory, operations, history, status) lives in `store.Store`. At start-up an
  operation left Running by a killed process is marked Interrupted and recorded in
  history; its objects are already in the inventory (written ahead), so the next sync
  converges without orphans. Reading that state back is `reconcile.restore`.

Called by `reconcile.loop`, `settle` and `rollback`, by `conveyor app` (app/) and by tests
and the bench.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from conveyor.reconcile import drift, fetching, restore, steps
from conveyor.reconcile.applications import Catalog, placeholder
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.childstore import ChildStore
from conveyor.reconcile.deletion import Deletions
from conveyor.reconcile.deliverytrace import DeliveryTrace
from conveyor.reconcile.dependencies import dependency_cycles
from conveyor.reconcile.diff import ObjectDiff
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.model import Outcome, Reason, SyncStatus
from conveyor.reconcile.ownership import Ownership
from conveyor.reconcile.runtime import AppRuntime
from conveyor.reconcile.status import summarize
from conveyor.targets.base import TargetError

log = logging.getLogger(__name__)
SUSPENDED = Outcome(
    reason=Reason.SUSPENDED,
    message="reconciliation is suspended (Flux spec.suspend or Argo CD's skip-reconcile "
    "annotation); nothing is fetched, synced or pruned until it is lifted",
)


class Reconciler:
    """Reconciles a set of applications against their targets."""

    def __init__(
        self,
        apps: Sequence[Application],
        env: steps.Env,
        *,
        concurrency: int = 16,
        sharded: bool = False,
    ) -> None:
        self.env = env
        self._runtimes: dict[str, AppRuntime] = {}
        self._limit = asyncio.Semaphore(concurrency)
        self._locks: dict[str, asyncio.Lock] = {}
        self._cycles: dict[str, str] = {}
        self._pending: dict[str, dict[str, Any]] = {}
        self._published: dict[str, dict[str, Any]] = {}
        self.deletions = Deletions(env)  # apps removed from the apps directory
        self.deliveries = DeliveryTrace(env.sources, env.clock)  # issue 17: traced deploys
        self._catalog = Catalog()
        self._child_store = ChildStore(env.store)
        self.children = self._child_store.restore()
        self._adopted = -1
        self.ownership = Ownership()  # every app, unless a sharded loop narrows it
        if not sharded:  # a sharded replica recovers each app as it gains it (`loop`)
            self.recover()
        self.set_apps(apps)

    # -- set-up -------------------------------------------------------------------------

    def recover(self, app: str | None = None) -> None:
        """Close operations a killed process left Running (they count as not attempted):
        every app's, or `app`'s when a sharded replica takes it over."""
        restore.recover(self.env.store, self.env.clock, app)

    def set_apps(self, apps: Sequence[Application]) -> None:
        self.set_catalog(Catalog(apps=tuple(apps)))

    def set_catalog(self, catalog: Catalog) -> None:
        """Manage these apps from now on. An invalid document keeps its app's runtime (and
        its objects) but stops every step until it is valid again (InvalidSpec)."""
        self._catalog = catalog  # the children its apps registered run beside them
        apps = [*catalog.apps, *self.children.apps(catalog.apps)]
        self.ownership.set_apps(apps)
        runtimes = {}
        for app in apps:
            rt = self._runtimes.get(app.name)
            if rt is None or rt.app != app:
                rt = restore.load_runtime(self.env.store, app)
            rt.invalid = None
            runtimes[app.name] = rt
        for bad in catalog.invalid:
            rt = self._runtimes.get(bad.name) or restore.load_runtime(
                self.env.store, placeholder(bad)
            )
            rt.invalid = Outcome(reason=Reason.INVALID_SPEC, message=bad.message)
            runtimes[bad.name] = rt
            log.warning("app %s: %s; nothing is synced until it is fixed", bad.name, bad.message)
        self._keep_unreadable(catalog, runtimes)
        self._forget([rt for name, rt in self._runtimes.items() if name not in runtimes], runtimes)
        self._runtimes = runtimes
        self._cycles = dependency_cycles(apps)
        self.env.claims.set_apps(runtimes)  # objects of apps gone are free to adopt

    def _keep_unreadable(self, catalog: Catalog, runtimes: dict[str, AppRuntime]) -> None:
        """A file that is not even YAML (or an ApplicationSet that cannot generate) hides
        which apps it defines: they keep running as they were, never taken for removed and
        deleted by their finalizers; the error is reported on its own entry."""
        broken = {bad.file for bad in catalog.invalid if bad.hides_file}
        for name, rt in self._runtimes.items():
            if name not in runtimes and rt.app.file in broken:
                log.warning("app %s: %s cannot be read; running it as it was", name, rt.app.file)
                runtimes[name] = rt

    def _forget(self, gone: list[AppRuntime], defined: dict[str, AppRuntime]) -> None:
        """Apps removed from the apps directory: their objects are deleted (a deletion
        finalizer) or left and the user told (`reconcile.deletion`); their status stays."""
        for rt in gone:
            log.info("app %s: no longer defined; stopped reconciling it", rt.app.name)
            self.env.metrics.forget(rt.app.name)
        for rt in defined.values():
            if self.ownership.owns(rt.app.name):  # another replica arms its own apps
                self.deletions.arm(rt)
        self.deletions.removed(gone, defined)

    def owned(self) -> list[str]:
        """The apps this process reconciles now (all of them, unless sharded)."""
        return [name for name in self._runtimes if self.ownership.owns(name)]

    @property
    def apps(self) -> list[str]:
        return sorted(self._runtimes)

    def runtime(self, name: str) -> AppRuntime:
        try:
            return self._runtimes[name]
        except KeyError:
            raise KeyError(f"no application named {name!r}") from None

    # -- passes -------------------------------------------------------------------------

    async def reconcile_all(self) -> dict[str, dict[str, Any]]:
        """One full pass over every app this process owns; returns their statuses."""
        await self.deletions.advance(self.ownership.owns)
        owned = self.owned()
        await self._fetch({u for n in owned for u in self._runtimes[n].app.git_urls})
        await fetching.prefetch_trees(self.env, (self._runtimes[n] for n in owned))
        await self._run(owned)
        return {name: self.status(name) for name in self.owned()}  # children changed

    async def reconcile_apps(self, names: Iterable[str], *, fetch: bool = True) -> None:
        """Reconcile just these apps (triggered or requeued by `reconcile.loop`)."""
        chosen = [n for n in dict.fromkeys(names) if n in self._runtimes and self.ownership.owns(n)]
        if fetch:
            await self._fetch({u for n in chosen for u in self._runtimes[n].app.git_urls})
        await self._run(chosen)

    async def _fetch(self, urls: set[str]) -> None:
        await fetching.fetch_repositories(self.env, urls)

    async def _run(self, names: list[str]) -> None:
        done = {name: asyncio.Event() for name in names}

        async def one(name: str) -> None:
            rt = self._runtimes[name]
            for dep in (*rt.app.depends_on, *self.children.earlier(name)):
                if dep in done and dep != name and name not in self._cycles:
                    await done[dep].wait()
            try:
                async with self._limit:
                    await self.ownership.run(name, self.reconcile_one)
            finally:
                done[name].set()

        await asyncio.gather(*(one(name) for name in names))
        self._flush()
        await self._adopt_children()

    # -- one app ------------------------------------------------------------------------

    async def reconcile_one(self, name: str, *, manual: dict[str, Any] | None = None) -> None:
        """Reconcile one app (the caller fetched its repository)."""
        rt = self._runtimes[name]
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            started = self.env.clock()
            try:
                await self._steps(rt, manual)
                self.env.notices.assessed(rt, self.env.clock())
                await self.children.sync(
                    rt, manual, sources=self.env.sources, files=list(self._catalog.apps)
                )
            except TargetError as exc:
                rt.stopped = Outcome(reason=Reason.TARGET_UNAVAILABLE, message=str(exc))
            except Exception as exc:  # one app's failure must not stop the loop
                log.exception("app %s: reconcile failed; retrying on the next pass", name)
                message = f"{type(exc).__name__}: {exc}"
                rt.stopped = Outcome(reason=Reason.RECONCILE_FAILED, message=message)
            self.env.metrics.observe_reconcile(name, self.env.clock() - started)
            self._publish(rt)
            await self.deliveries.observe(rt, started)

    async def _steps(self, rt: AppRuntime, manual: dict[str, Any] | None) -> None:
        if rt.invalid is not None:
            rt.stopped = rt.invalid
            return
        if rt.app.suspended:
            rt.stopped = SUSPENDED
            return
        if self._blocked(rt):
            return
        rendered = await self._fetch_and_render(rt, revision=(manual or {}).get("revision"))
        self.deletions.arm(rt)  # keeps the PostDelete hooks of the last render
        if not rendered:
            return
        await steps.observe(self.env, rt)
        self._note_drift(rt)
        if await self._maybe_sync(rt, manual):
            await steps.observe(self.env, rt)
        self._note_drift(rt)
        if rt.sync_status == SyncStatus.SYNCED:
            rt.attempts = drift.settled(rt.attempts)

    async def _fetch_and_render(self, rt: AppRuntime, *, revision: str | None = None) -> bool:
        """The first two steps; a failed one's outcome is why the pass stopped (`stopped`),
        and a successful render clears what stopped an earlier pass."""
        outcome = await steps.fetch(self.env, rt, revision=revision)
        if outcome.ok:
            outcome = await steps.render(self.env, rt)
        rt.stopped = None if outcome.ok else outcome
        return outcome.ok

    async def _adopt_children(self) -> None:
        """Run the children registered or changed in this pass (and drop the ones their
        parents pruned, through `set_apps`), then republish their parents' statuses."""
        if self.children.changes != self._adopted:
            before = dict(self._runtimes)
            self.set_catalog(self._catalog)
            self._adopted = self.children.changes
            self._child_store.save(self.children)
            fresh = [n for n, rt in self._runtimes.items() if before.get(n) is not rt]
            if fresh:
                await self._fetch({self._runtimes[n].app.source.repo_url for n in fresh})
                await self._run(fresh)
        for parent in self.children.parents():
            if parent in self._runtimes:
                self._publish(self._runtimes[parent])
        self._flush()

    def _note_drift(self, rt: AppRuntime) -> None:
        """Count a drift event when an app that was synced at this digest goes OutOfSync."""
        synced_here = rt.desired is not None and rt.attempts.digest == rt.desired.digest
        drifted = (
            rt.sync_status == SyncStatus.OUT_OF_SYNC and synced_here and not rt.attempts.failed
        )
        if drifted and not rt.drifted:
            self.env.metrics.count_drift(rt.app.name)
            self.env.notices.drifted(rt, self.env.clock())
        rt.drifted = drifted

    async def _maybe_sync(self, rt: AppRuntime, manual: dict[str, Any] | None) -> bool:
        """Sync when asked to, or when the auto-sync rules say so; True when it synced."""
        assert rt.desired is not None
        if manual is not None:
            outcome = await steps.run_sync(
                self.env,
                rt,
                initiated_by=manual.get("by", "user"),
                reason=manual.get("reason", "manual sync"),
                prune=manual.get("prune"),
            )
            self._synced(rt, outcome)
            rt.attempts = drift.Attempts(digest=rt.desired.digest)
            rt.decision, rt.outlook = "manual sync", drift.Outlook.SETTLED
            return True
        decision = drift.decide(
            policy=rt.app.sync_policy,
            paused=rt.paused,
            out_of_sync=rt.sync_status == SyncStatus.OUT_OF_SYNC,
            digest=rt.desired.digest,
            attempts=rt.attempts,
            now=self.env.clock(),
        )
        rt.decision, rt.outlook = decision.message, decision.outlook
        if decision.action == drift.Action.NONE:
            return False
        outcome = await steps.run_sync(
            self.env, rt, initiated_by="auto-sync", reason=decision.message
        )
        self._synced(rt, outcome, heal=decision.action == drift.Action.SELF_HEAL)
        rt.attempts = drift.after_attempt(
            rt.attempts,
            decision.action,
            digest=rt.desired.digest,
            ok=outcome.ok,
            retry=rt.app.sync_policy.retry,
            now=self.env.clock(),
        )
        return True

    def _synced(self, rt: AppRuntime, outcome: Outcome, *, heal: bool = False) -> None:
        """Keep a finished sync's outcome and the new history; tell it (`notices`)."""
        assert rt.desired is not None
        rt.last_sync, rt.last_sync_digest = outcome, rt.desired.digest
        rt.history = restore.history(self.env.store, rt.app.name)
        self.env.notices.synced(rt, outcome, self_heal=heal, now=self.env.clock())

    def _blocked(self, rt: AppRuntime) -> bool:
        if rt.app.name in self._cycles:
            cycle = self._cycles[rt.app.name]
            rt.stopped = Outcome(reason=Reason.DEPENDENCY_CYCLE, message=cycle)
            return True
        waiting = []
        for dep in rt.app.depends_on:
            other = self._runtimes.get(dep)
            if other is None:
                waiting.append(f"{dep} (no such application)")
            elif not other.ready:
                waiting.append(dep)
        rt.blocked_on = tuple(waiting)
        return bool(waiting)

    def _publish(self, rt: AppRuntime) -> None:
        health = rt.health.status if rt.health else None
        if health is not None:
            self.env.metrics.set_app(rt.app.name, health, rt.sync_status)
        status = self.status(rt.app.name)
        if self._published.get(rt.app.name) != status:  # cheaper than serialising to compare
            self._pending[rt.app.name] = self._published[rt.app.name] = status

    def _flush(self) -> None:
        """Write the statuses collected since the last flush, in one transaction."""
        pending, self._pending = self._pending, {}
        self.env.store.save_statuses(pending)

    def status(self, name: str) -> dict[str, Any]:
        status = summarize(self._runtimes[name], history=self._runtimes[name].history)
        status["parent"] = self._runtimes[name].app.parent  # app of apps (`children`)
        status["children"] = self.children.view(name, self._runtimes)
        return status

    # -- commands -----------------------------------------------------------------------

    async def sync(
        self,
        name: str,
        *,
        revision: str | None = None,
        by: str = "user",
        reason: str = "manual sync",
        prune: bool | None = None,
    ) -> dict[str, Any]:
        """A manual sync; it also resumes auto-sync paused by a rollback."""
        rt = self.runtime(name)
        if not self.ownership.owns(name):
            raise ReconcileError(f"{name}: another reconciler replica owns this app's shard")
        if revision is None and rt.paused:
            self.env.store.set_paused(name, False)
            rt.paused, rt.pause_reason = False, ""
        await self._fetch(set(rt.app.git_urls))
        manual = {"revision": revision, "by": by, "reason": reason, "prune": prune}
        async with self._limit:
            await self.reconcile_one(name, manual=manual)
        self._flush()
        await self._adopt_children()
        return self.status(name)

    async def diff(self, name: str) -> list[ObjectDiff]:
        """Fetch and render `name`, and return what a sync would change (no sync)."""
        rt = self.runtime(name)
        await self._fetch(set(rt.app.git_urls))
        if not await self._fetch_and_render(rt):
            assert rt.stopped is not None
            raise ReconcileError(f"{name}: {rt.stopped.message}")
        return await steps.object_diffs(self.env, rt)

    def pause(self, name: str, reason: str) -> None:
        rt = self.runtime(name)
        self.env.store.set_paused(name, True, reason)
        rt.paused, rt.pause_reason = True, reason

    def runtimes(self) -> list[AppRuntime]:
        """Every app's run state (read by `reconcile.loop` for triggers and requeues)."""
        return list(self._runtimes.values())
