"""Deleting an app whose Application left the apps directory (issue 14), as Argo CD's
finalizers do it when an Application is deleted.

* With `resources-finalizer.argocd.argoproj.io` (foreground propagation), its `/background`
  or `/foreground` variant, or Conveyor's `conveyor.dev/delete-resources`, every object the
  app deployed is deleted, last wave first (`deletion_steps.delete_objects`), between its
  PreDelete and its PostDelete hooks (`deletion_steps.run_hooks`).
* Without one the objects are left, and the log and the app's status say how many and how
  to remove them. PreDelete and PostDelete hooks run either way: Argo CD adds its
  `pre-delete-` and `post-delete-finalizer.argocd.argoproj.io` itself to every app that
  has such hooks.
* Nothing is lost to a restart: an app is *armed* in the store while it is defined (its
  target, finalizer and the deletion hooks of its last render, which are needed after its
  file is gone); when it goes the row turns Deleting before anything is deleted, and a
  restarted reconciler carries on from the row and the app's stored inventory.
* An apps directory that suddenly defines no application deletes nothing, the rule an empty
  render follows for pruning (allowEmpty): a mistyped path must not delete every app.
  The deletions start once an application is defined again.

Called by `reconcile.reconciler.Reconciler`: `arm` after each render and when an app is
(re)defined, `removed` from `set_apps`, `advance` at the start of every full pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from enum import StrEnum

from conveyor.reconcile import status
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.deletion_steps import (
    delete_objects,
    deletion_hooks,
    run_hooks,
)
from conveyor.reconcile.model import Phase, Reason
from conveyor.reconcile.runtime import AppRuntime
from conveyor.reconcile.steps import Env
from conveyor.store import DeletionRecord
from conveyor.targets.base import OWNER_LABEL, ObjectRef, Propagation, Target, TargetError

log = logging.getLogger(__name__)

#: Finalizers that delete the app's objects with it, and the propagation policy each asks.
CASCADE = {
    "resources-finalizer.argocd.argoproj.io": "foreground",
    "resources-finalizer.argocd.argoproj.io/foreground": "foreground",
    "resources-finalizer.argocd.argoproj.io/background": "background",
    "conveyor.dev/delete-resources": "foreground",
}
HOW_TO_DELETE = (
    "to delete them, define the app again with metadata.finalizers: "
    "[resources-finalizer.argocd.argoproj.io] and remove it once it is synced, "
    f"or delete the objects labelled {OWNER_LABEL}={{app}} by hand"
)


class DeletionState(StrEnum):
    ARMED = "Armed"  # defined; what its deletion will need is recorded
    PRE_DELETE = "PreDeleteHooks"  # gone from the apps directory; PreDelete hooks run
    DELETING = "Deleting"  # deleting its objects (or leaving them, without a finalizer)
    POST_DELETE = "PostDeleteHooks"  # objects gone (or left); PostDelete hooks run
    DELETED = "Deleted"
    LEFT = "Left"  # gone without a deletion finalizer: its objects were left


def cascade_policy(app: Application) -> str:
    """The propagation policy of the app's deletion finalizer, "" without one."""
    return next((CASCADE[f] for f in app.finalizers if f in CASCADE), "")


class Deletions:
    """The deletion records of every app, kept in `Store.deletions` and mirrored here."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self._rows = {row.app: row for row in env.store.deletions.all()}
        self._seen: dict[str, tuple[Application, str, str]] = {}
        self._first = True

    # -- while an app is defined --------------------------------------------------------

    def arm(self, rt: AppRuntime) -> None:
        """Record what deleting `rt.app` will need (only when that changed)."""
        digest = rt.desired.digest if rt.desired else ""
        seen = (rt.app, digest, rt.revision)
        if self._seen.get(rt.app.name) == seen:
            return
        self._seen[rt.app.name] = seen
        old = self._rows.get(rt.app.name)
        armed = old if old is not None and old.state == DeletionState.ARMED else None
        hooks = deletion_hooks(rt.desired.manifests) if rt.desired else ()
        hooks = hooks if rt.desired or armed is None else armed.hooks
        policy = cascade_policy(rt.app)
        if not policy and not hooks:
            if armed is not None:
                self._drop(rt.app.name)
            return
        row = DeletionRecord(
            app=rt.app.name,
            target=rt.app.target,
            state=DeletionState.ARMED,
            cascade=bool(policy),
            policy=policy,
            revision=rt.revision or (armed.revision if armed else ""),
            hooks=hooks,
        )
        if row != old:
            self._save(row)

    # -- when apps go -------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the rows again: with sharded replicas, others arm and delete their apps."""
        self._rows = {row.app: row for row in self.env.store.deletions.all()}

    def removed(self, gone: Sequence[AppRuntime], defined: Collection[str]) -> None:
        """Start the deletion of every armed app no longer defined; tell about the others."""
        self.refresh()
        for name in defined:
            row = self._rows.get(name)
            if row is not None and row.state != DeletionState.ARMED:
                self._drop(name)  # defined again: a new app, nothing more to delete
        if not defined:
            if gone or self._armed():
                log.warning(
                    "no application is defined any more; deleting nothing (an empty apps "
                    "directory is taken for a mistake); next: deletions start once one is"
                )
            return
        for row in self._armed():
            if row.app not in defined:
                self._start(row)
        for rt in gone:
            if rt.app.name not in self._rows:
                self._left(rt.app.name, rt.app.target, len(rt.inventory))
        if self._first:
            self._first = False
            self._removed_while_stopped(defined)

    def _armed(self) -> list[DeletionRecord]:
        return [r for r in self._rows.values() if r.state == DeletionState.ARMED]

    def _start(self, row: DeletionRecord) -> None:
        what = f"deleting its objects ({row.policy} propagation)" if row.cascade else ""
        what = what or "leaving its objects (no deletion finalizer)"
        message = f"removed from the apps directory; {what}"
        log.info("app %s: %s; next: the deletion runs at the start of each pass", row.app, message)
        row = replace(
            row, state=DeletionState.PRE_DELETE, requested=self.env.clock(), message=message
        )
        self._save(row, reason=Reason.DELETING)

    def _left(self, app: str, target: str, count: int) -> None:
        message = (
            f"removed from the apps directory without a deletion finalizer: its {count} "
            f"objects were left on target {target}; " + HOW_TO_DELETE.format(app=app)
        )
        log.warning("app %s: %s", app, message)
        row = DeletionRecord(app=app, target=target, state=DeletionState.LEFT, message=message)
        self._save(row, reason=Reason.RESOURCES_LEFT)

    def _removed_while_stopped(self, defined: Collection[str]) -> None:
        """Apps with a stored status and inventory, removed while no reconciler ran."""
        for name, last in self.env.store.all_statuses().items():
            if name in defined or name in self._rows:
                continue
            count = len(self.env.store.inventory(name))
            if count:
                self._left(name, str(last.get("target", "")), count)

    # -- the deletions themselves --------------------------------------------------------

    async def advance(self, owns: Callable[[str], bool] = lambda _app: True) -> None:
        """Take every deletion in progress as far as it goes without waiting; with sharded
        replicas, only those of the apps this one `owns`."""
        self.refresh()
        busy = (DeletionState.PRE_DELETE, DeletionState.DELETING, DeletionState.POST_DELETE)
        for row in [r for r in self._rows.values() if r.state in busy and owns(r.app)]:
            target = self.env.target_named(row.target)
            if target is None:
                note = f"target {row.target!r} is not configured: nothing can be deleted"
                self._save(row, reason=Reason.DELETING, note=note)
                continue
            try:
                await self._advance(row, target)
            except TargetError as exc:
                log.warning("app %s: deletion stopped: %s; next: retry next pass", row.app, exc)
                self._save(row, reason=Reason.DELETING, note=str(exc))

    async def _advance(self, row: DeletionRecord, target: Target) -> None:
        if row.state == DeletionState.PRE_DELETE:
            row = await self._hooks(row, target, Phase.PRE_DELETE, DeletionState.DELETING)
        if row.state == DeletionState.DELETING:
            row = await self._delete_objects(row, target)
        final = DeletionState.DELETED if row.cascade else DeletionState.LEFT
        if row.state == DeletionState.POST_DELETE:
            row = await self._hooks(row, target, Phase.POST_DELETE, final)
        if row.state == final:
            log.info("app %s: %s; next: nothing, it is gone", row.app, row.message)
            reason = Reason.DELETED if row.cascade else Reason.RESOURCES_LEFT
            self._save(row, reason=reason)

    async def _hooks(
        self, row: DeletionRecord, target: Target, phase: Phase, then: DeletionState
    ) -> DeletionRecord:
        """Run the `phase` hooks; the row moves on to `then` once they are done (stored,
        with its status, by the caller when `then` ends the deletion)."""
        progress = await run_hooks(
            target, row.hooks, phase, revision=row.revision, started=row.requested
        )
        if not progress.done:
            self._save(row, reason=Reason.DELETING, note=progress.message)
            return row
        message = "; ".join(m for m in (row.message, progress.message) if m)
        row = replace(row, state=then, message=message)
        if then not in (DeletionState.DELETED, DeletionState.LEFT):
            self._save(row, reason=Reason.DELETING)
        return row

    async def _delete_objects(self, row: DeletionRecord, target: Target) -> DeletionRecord:
        store = self.env.store
        if not row.cascade:
            count = len(store.inventory(row.app))
            message = f"its {count} objects were left on target {row.target}; " + (
                HOW_TO_DELETE.format(app=row.app)
            )
            log.warning("app %s: %s", row.app, message)
            return replace(
                row, state=DeletionState.POST_DELETE, message=f"{row.message}; {message}"
            )
        inventory = {ObjectRef.parse(key) for key in store.inventory(row.app)}
        progress = await delete_objects(
            target, row.app, inventory, propagation=Propagation(row.policy or "foreground")
        )
        store.set_inventory(row.app, [r.key for r in inventory - set(progress.deleted)])
        if not progress.done:
            self._save(row, reason=Reason.DELETING, note=progress.message)
            return row
        kept = [ref for ref, _ in progress.kept if ref not in progress.foreign]
        store.set_inventory(row.app, [r.key for r in kept])
        message = f"{row.message}; deleted {len(progress.deleted)} objects, last wave first"
        if progress.kept:
            ref, why = progress.kept[0]
            message += f"; kept {len(progress.kept)}: {ref} ({why})" + ", …" * (
                len(progress.kept) > 1
            )
        row = replace(row, state=DeletionState.POST_DELETE, message=message)
        self._save(row, reason=Reason.DELETING)
        return row

    # -- records and status -------------------------------------------------------------

    def _save(self, row: DeletionRecord, *, reason: Reason | None = None, note: str = "") -> None:
        """Store `row` and, with a `reason`, the app's status; `note` (what the deletion
        waits for) is shown instead of the row's message, which keeps what was done."""
        self.env.store.deletions.save(row)
        self._rows[row.app] = row
        if reason is not None:
            last = self.env.store.load_status(row.app)
            message = f"{row.message}; {note}" if note else row.message
            self.env.store.save_status(
                row.app, status.removed(last, name=row.app, reason=reason, message=message)
            )

    def _drop(self, app: str) -> None:
        self.env.store.deletions.remove(app)
        self._rows.pop(app, None)

    def state(self, app: str) -> DeletionState | None:
        """Where the deletion of `app` stands (tests and `conveyor app` read it)."""
        row = self._rows.get(app)
        return DeletionState(row.state) if row is not None else None
