"""App of apps: Applications rendered by another app become apps of their own (issue 14).

A parent's render may hold Application (and ApplicationSet) documents; `steps.render`
keeps them apart (`appdocs`) instead of applying them to the target as opaque objects.
`Children` holds, per parent:

* `wanted`: what the parent's last good render asks for, read as strictly as a file
  (`applications.parse_document`, shown as `<parent>: <source path>`), ApplicationSets
  expanded (`appset_generators`);
* `registered`: what the parent has "applied", i.e. the children the reconciler runs.
  Registering is the parent's sync of its Application objects: every pass when the
  parent auto-syncs, on a manual sync otherwise. A child the parent stops rendering is
  dropped only when the parent prunes (Argo CD's rule; otherwise it stays and the parent
  shows it as requiring pruning); the reconciler then removes it the way it removes an
  app whose file was deleted (`Reconciler.set_apps`), so the child's objects go only when
  the child carries the resources finalizer.

A child whose name an Application file or another parent's child already has is not
registered: the parent gets a ChildAppsInvalid condition naming both. When the parent
itself goes, its children go with it if it has a resources finalizer (cascade), and stay
(orphaned, still reconciled) otherwise. Children of one parent are reconciled in the order
of their `argocd.argoproj.io/sync-wave`. Registered children are kept in the store
(`childstore`): after a restart they run at once, and one the parent stopped rendering
meanwhile is removed as soon as the parent renders.

Called by `reconcile.reconciler` (`reconcile_one`, `set_apps`, `_run`, `status`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from conveyor.core.errors import UserError
from conveyor.reconcile import appset_generators
from conveyor.reconcile.applications import parse_document
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.appsets import parse_appset
from conveyor.reconcile.model import HealthStatus, Outcome, Reason, SyncStatus
from conveyor.reconcile.runtime import AppRuntime
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.yamlnodes import Document
from conveyor.targets.base import Manifest

WAVE = "argocd.argoproj.io/sync-wave"
CASCADE = ("resources-finalizer.argocd.argoproj.io", "conveyor.dev/delete-resources")


@dataclass(frozen=True, slots=True, kw_only=True)
class Child:
    """A child app and the document it was read from (canonical JSON, kept in the store
    so that a restart runs it, and can remove it, before its parent renders again)."""

    app: Application
    document: str


class Children:
    """Child applications per parent: wanted (rendered) and registered (reconciled)."""

    def __init__(self) -> None:
        self._wanted: dict[str, dict[str, Child]] = {}
        self._errors: dict[str, tuple[str, ...]] = {}
        self._registered: dict[str, dict[str, Child]] = {}
        self._parents: dict[str, tuple[str, ...]] = {}  # a parent's finalizers
        self.changes = 0  # counts changes to what is registered (`Reconciler` re-reads then)
        self._index: tuple[int, dict[str, tuple[str, int]]] = (-1, {})

    # -- reading a parent's render --------------------------------------------------------

    async def sync(
        self,
        rt: AppRuntime,
        manual: Mapping[str, Any] | None,
        *,
        sources: Sources,
        files: Sequence[Application],
    ) -> None:
        """After an app's steps: read the Applications it rendered and, when it syncs (auto
        or `manual`), register them; the reconciler runs them after the pass."""
        name = rt.app.name
        if rt.stopped is not None or rt.blocked_on or rt.desired is None:
            return  # a failed render never registers nor prunes children
        if not rt.child_docs and name not in self._registered:
            return
        taken = {a.name: f"the application in {a.file}" for a in files}
        taken |= self.owners(besides=name)
        await self.evaluate(rt.app, rt.child_docs, sources=sources, taken=taken)
        policy = rt.app.sync_policy
        if manual is not None or (policy.automated and not rt.paused):
            prune = (manual or {}).get("prune")
            prune = (policy.prune or not policy.automated) if prune is None else prune
            # a child that could not be read may be one registered now: prune nothing then
            self.register(rt.app, prune=bool(prune) and not self._errors.get(name))
        self.note(rt)

    async def evaluate(
        self,
        parent: Application,
        docs: Sequence[Manifest],
        *,
        sources: Sources,
        taken: Mapping[str, str],
    ) -> None:
        """Read the parent's rendered Application documents into its wanted children."""
        wanted: dict[str, Child] = {}
        errors: list[str] = []
        for data in docs:
            try:
                found = await _read(parent, data, sources)
            except UserError as exc:
                errors.append(str(exc))
                continue
            for child in found:
                app = child.app
                owner = taken.get(app.name) or ("this app" if app.name == parent.name else "")
                if app.name in wanted:
                    owner = f"{parent.name}'s render, twice"
                if owner:
                    errors.append(
                        f"child application {app.name!r} collides with {owner}: rename it"
                    )
                    continue
                wanted[app.name] = child
        self._wanted[parent.name] = wanted
        self._errors[parent.name] = tuple(errors)

    def register(self, parent: Application, *, prune: bool) -> None:
        """The parent syncs its children: wanted ones are registered, and ones it no longer
        renders are dropped when it prunes."""
        current = self._registered.get(parent.name, {})
        wanted = self._wanted.get(parent.name, {})
        taken = self.owners(besides=parent.name)
        claimed = [n for n in wanted if n in taken]
        if claimed:  # another parent registered it since `evaluate` (same pass)
            extra = tuple(f"child application {n!r} collides with {taken[n]}" for n in claimed)
            self._errors[parent.name] = (*self._errors.get(parent.name, ()), *extra)
        nxt = {n: a for n, a in wanted.items() if n not in claimed}
        if not prune:
            nxt |= {n: a for n, a in current.items() if n not in wanted}
        if nxt != current or self._parents.get(parent.name) != parent.finalizers:
            self.changes += 1
        self._registered[parent.name] = nxt
        self._parents[parent.name] = parent.finalizers

    # -- what the reconciler runs -------------------------------------------------------

    def apps(self, files: Sequence[Application]) -> list[Application]:
        """Registered children to run beside the file apps: the children of a parent that
        is gone with a resources finalizer are dropped (cascade), and a name an
        Application file defines is never taken by a child."""
        self._cascade({app.name for app in files})
        taken = {app.name for app in files}
        out = []
        for kids in self._registered.values():
            for name, child in kids.items():
                if name not in taken:
                    taken.add(name)
                    out.append(child.app)
        return out

    def _cascade(self, files: set[str]) -> None:
        while True:
            defined = files | {n for kids in self._registered.values() for n in kids}
            gone = [
                p
                for p in self._registered
                if p not in defined and any(f in CASCADE for f in self._parents.get(p, ()))
            ]
            if not gone:
                return
            self.changes += 1
            for parent in gone:
                for table in (self._registered, self._wanted, self._errors, self._parents):
                    table.pop(parent, None)

    def owners(self, *, besides: str) -> dict[str, str]:
        """Child names registered by parents other than `besides`, with who owns them."""
        return {
            name: f"a child of {parent}"
            for parent, kids in self._registered.items()
            if parent != besides
            for name in kids
        }

    def earlier(self, name: str) -> tuple[str, ...]:
        """Siblings of child `name` in the closest lower sync wave: it is reconciled after
        them (and they after theirs), so a parent's waves run in order."""
        if self._index[0] != self.changes:
            self._index = (self.changes, self._waves())
        waves = self._index[1]
        if name not in waves:
            return ()
        parent, wave = waves[name]
        lower = [w for n, (p, w) in waves.items() if p == parent and w < wave]
        if not lower:
            return ()
        return tuple(n for n, (p, w) in waves.items() if p == parent and w == max(lower))

    def _waves(self) -> dict[str, tuple[str, int]]:
        return {
            name: (parent, wave_of(child.app))
            for parent, kids in self._registered.items()
            for name, child in kids.items()
        }

    def parents(self) -> list[str]:
        return sorted(self._registered)

    # -- kept in the store (`childstore`) ----------------------------------------------

    def entries(self) -> dict[str, tuple[tuple[str, ...], dict[str, Child]]]:
        """Per parent: its finalizers and its registered children."""
        return {p: (self._parents.get(p, ()), dict(k)) for p, k in self._registered.items()}

    def adopt(self, parent: str, finalizers: tuple[str, ...], kids: dict[str, Child]) -> None:
        """Register children read back from the store (at start-up)."""
        self._parents[parent] = finalizers
        self._registered[parent] = kids
        self.changes += 1

    # -- the parent's status ------------------------------------------------------------

    def note(self, rt: AppRuntime) -> None:
        """Invalid or colliding children stop the parent (ChildAppsInvalid); children not
        registered as rendered make it OutOfSync until it syncs them."""
        name = rt.app.name
        if self._errors.get(name):
            message = "; ".join(self._errors[name])
            rt.stopped = Outcome(reason=Reason.CHILD_APPS_INVALID, message=message)
        elif self.pending(name) and rt.sync_status == SyncStatus.SYNCED:
            rt.sync_status = SyncStatus.OUT_OF_SYNC
            rt.decision = "child applications to sync: " + ", ".join(self.pending(name))
            rt.observed = None  # compare again next pass: the children may be synced then

    def pending(self, parent: str) -> list[str]:
        wanted = self._wanted.get(parent, {})
        registered = self._registered.get(parent, {})
        names = wanted.keys() | registered.keys()
        return sorted(n for n in names if wanted.get(n) != registered.get(n))

    def view(self, parent: str, runtimes: Mapping[str, AppRuntime]) -> list[dict[str, Any]]:
        """The parent's child Application resources: whether each is registered as
        rendered, and the child app's own sync and health (informational: as in Argo CD
        since 1.8, a child's health does not count towards its parent's)."""
        wanted = self._wanted.get(parent, {})
        registered = self._registered.get(parent, {})
        out = []
        for name in sorted(wanted.keys() | registered.keys()):
            rt = runtimes.get(name) if name in registered else None
            app = (registered.get(name) or wanted[name]).app
            if name not in wanted:
                state = "RequiresPruning"
            else:
                state = "Synced" if registered.get(name) == wanted[name] else "OutOfSync"
            out.append(
                {
                    "group": "argoproj.io",
                    "kind": "Application",
                    "name": name,
                    "wave": wave_of(app),
                    "status": state,
                    "sync": str(rt.sync_status if rt else SyncStatus.UNKNOWN),
                    "health": str(_health(rt)),
                }
            )
        return out


def _health(rt: AppRuntime | None) -> HealthStatus:
    if rt is None:
        return HealthStatus.MISSING
    return rt.health.status if rt.health else HealthStatus.UNKNOWN


def wave_of(app: Application) -> int:
    try:
        return int(app.annotation(WAVE) or 0)
    except ValueError:
        return 0


async def _read(parent: Application, data: Manifest, sources: Sources) -> list[Child]:
    shown = f"{parent.name}: {parent.source.path}"
    name = str((data.get("metadata") or {}).get("name") or "")
    if data.get("kind") == "ApplicationSet":
        appset = parse_appset(Document(data=data, file=f"{shown} (ApplicationSet {name})"))
        made = await appset_generators.documents(appset, sources)
    else:
        made = [(dict(data), parse_document(dict(data), f"{shown} (Application {name})"))]
    for _, app in made:
        _check_wave(app)
    return [
        Child(app=replace(app, parent=parent.name), document=_canonical(doc)) for doc, app in made
    ]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _check_wave(app: Application) -> None:
    value = app.annotation(WAVE)
    if value is not None and not value.strip().lstrip("-").isdigit():
        raise UserError(
            f"{app.file}: annotation {WAVE} {value!r} is not an integer",
            hint='write a whole number, e.g. "-1" or "2"',
        )
