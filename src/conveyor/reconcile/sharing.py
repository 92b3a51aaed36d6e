"""Objects rendered by more than one app (issue 14): who owns them, and what the others do.

Argo CD records an object's app in a tracking label (or annotation) and, when a live object
names another app, reports `SharedResourceWarning` ("<Kind>/<name> is part of applications
a and b"); both apps then apply it, so it flips on every sync, and either may prune it.
Conveyor keeps Argo CD's condition and its `FailOnSharedResource` option, and drops the flip:

* the owner of an object is the app its `OWNER_LABEL` names (Conveyor's one tracking stamp,
  put there by `pairing.stamp`), as long as that app is defined and still claims it: renders
  it, or is about to prune it. A defined app not observed yet by this process claims
  everything it labelled (after a restart nobody takes an object before its owner is seen);
* an object nobody owns (absent, unlabelled, or labelled by an app that let it go) goes to
  the first app that observes it wanting it; `Claims` remembers that choice, so two apps
  creating it in one pass do not both apply it;
* the other apps that render it report the warning and leave it alone: it is not applied,
  not counted in their sync status, kept out of their inventory and never pruned by them.
  With `syncOptions: [FailOnSharedResource=true]` it counts as OutOfSync for them instead,
  and their sync fails on it before anything is applied (Argo CD fails the whole operation);
* the owner that drops it from Git prunes it, as Argo CD's owner would; an app still
  rendering it then creates it as its own on its next sync. An owner that drops it without
  pruning it (prune off, `Prune=false`) lets it go, and the other app adopts it in place.

`Claims` is the reconciler's registry of what every app renders (one per `steps.Env`, told
the defined apps by `Reconciler.set_apps`); `assess` and `restrict` are called by
`steps.observe`, `execute` by `steps.run_sync`; `status.summarize` shows the warnings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from conveyor.reconcile import ordering, sync
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.model import (
    PruneDecision,
    ResourceResult,
    ResultCode,
    SyncPlan,
    Wave,
)
from conveyor.targets.base import OWNER_LABEL, Manifest, ObjectRef, Target

FAIL_OPTION = "FailOnSharedResource"

#: An object on one target: (target name, ref).
Key = tuple[str, ObjectRef]


def owner_label(obj: Manifest | None) -> str:
    """The app an object's tracking label names, "" when it has none."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return str(labels.get(OWNER_LABEL) or "")


@dataclass(slots=True)
class Claims:
    """What each app renders and is about to prune, and who owns each shared object."""

    defined: frozenset[str] | None = None  # None: unknown, every labelled app still claims
    _renders: dict[str, frozenset[Key]] = field(default_factory=dict)
    _versions: dict[str, object] = field(default_factory=dict)  # what `_renders` came from
    _wanted: dict[str, tuple[object, frozenset[ObjectRef]]] = field(default_factory=dict)
    _pruning: dict[str, frozenset[Key]] = field(default_factory=dict)
    _renderers: dict[Key, set[str]] = field(default_factory=dict)
    _owners: dict[Key, str] = field(default_factory=dict)

    def set_apps(self, names: Iterable[str]) -> None:
        """The apps now defined; what the others rendered is forgotten."""
        self.defined = frozenset(names)
        for app in set(self._renders) - self.defined:
            self.render(app, (), version=None)
            del self._renders[app]
            self._pruning.pop(app, None)
            self._wanted.pop(app, None)

    def render(self, app: str, keys: Iterable[Key], *, version: object) -> None:
        """What `app` renders now; skipped when `version` (its desired digest and target)
        is the one already registered, which is what a no-op pass sees."""
        if version is not None and self._versions.get(app) == version:
            return  # (`set_apps` passes None: always register)
        self._versions[app] = version
        new = frozenset(keys)
        old = self._renders.get(app, frozenset())
        for key in old - new:
            left = self._renderers.get(key, set())
            left.discard(app)
            if not left:  # nobody asks about it any more: forget it (bounded memory)
                self._renderers.pop(key, None)
                self._owners.pop(key, None)
        for key in new - old:
            self._renderers.setdefault(key, set()).add(app)
        self._renders[app] = new

    def wanted(
        self, app: str, manifests: Sequence[Manifest], version: object
    ) -> frozenset[ObjectRef]:
        """The refs of the non-hook objects in `manifests`, once per `version`."""
        cached = self._wanted.get(app)
        if cached is None or cached[0] != version:
            refs = frozenset(ObjectRef.of(o) for o in manifests if not ordering.is_hook(o))
            cached = self._wanted[app] = (version, refs)
        return cached[1]

    def pruning(self, app: str, keys: Iterable[Key]) -> None:
        self._pruning[app] = frozenset(keys)

    def renderers(self, key: Key) -> Collection[str]:
        """The apps that render `key` (a live view: do not keep it)."""
        return self._renderers.get(key, ())

    def claims(self, app: str, key: Key) -> bool:
        """Whether `app` still holds `key`: it renders it or is about to prune it."""
        if self.defined is not None and app not in self.defined:
            return False
        if app not in self._renders:
            return True  # defined but not observed yet: keep what it labelled
        return key in self._renders[app] or key in self._pruning.get(app, frozenset())

    def owner(self, app: str, key: Key, labelled: str) -> str:
        """The owner of `key`, which `app` renders; `app` takes it when nobody holds it."""
        if labelled == app:  # the common case: its own object (it renders it)
            self._owners[key] = app
            return app
        if labelled and self.claims(labelled, key):
            self._owners[key] = labelled
            return labelled
        current = self._owners.get(key)
        if current and current != app and self.claims(current, key):
            return current
        self._owners[key] = app
        return app


@dataclass(frozen=True, slots=True, kw_only=True)
class SharedObject:
    """An object `app` renders that another app renders too, or owns."""

    ref: ObjectRef
    app: str
    owner: str
    others: tuple[str, ...]

    @property
    def message(self) -> str:
        """Argo CD's wording, plus who keeps the object."""
        apps = " and ".join((self.app, ", ".join(self.others)))
        return (
            f"{self.ref.kind}/{self.ref.name} is part of applications {apps} ({self.owner} owns it)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Sharing:
    """One app's view of its shared objects, from `assess`."""

    shared: tuple[SharedObject, ...] = ()
    foreign: frozenset[ObjectRef] = frozenset()  # owned by another app: hands off

    @property
    def foreign_desired(self) -> tuple[SharedObject, ...]:
        return tuple(s for s in self.shared if s.owner != s.app)


def assess(
    claims: Claims,
    *,
    app: str,
    target: str,
    manifests: Sequence[Manifest],
    live: Mapping[ObjectRef, Manifest],
    inventory: Iterable[ObjectRef],
    version: object,
) -> Sharing:
    """Register what `app` renders, its desired `manifests` (once per `version`: their
    digest and the target), and decide, object by object, who owns it."""
    wanted = claims.wanted(app, manifests, version)
    claims.render(app, ((target, ref) for ref in wanted), version=version)
    shared: list[SharedObject] = []
    foreign: set[ObjectRef] = set()
    for ref in wanted:
        key = (target, ref)
        owner = claims.owner(app, key, owner_label(live.get(ref)))
        renderers = claims.renderers(key)
        if owner == app and len(renderers) < 2:
            continue  # the common case: its own object, rendered by it alone
        others = tuple(sorted((set(renderers) | {owner}) - {app}))
        if owner != app:
            foreign.add(ref)
        if others:
            shared.append(SharedObject(ref=ref, app=app, owner=owner, others=others))
    for ref in set(inventory) - wanted:
        label = owner_label(live.get(ref))
        if label and label != app:
            foreign.add(ref)  # another app took it over: never ours to prune again
    shared.sort(key=lambda s: s.ref)
    return Sharing(shared=tuple(shared), foreign=frozenset(foreign))


def restrict(plan: SyncPlan, sharing: Sharing, *, fail: bool) -> SyncPlan:
    """`plan` without the objects another app owns: not applied, not pruned, not counted
    in the sync status (unless `fail`: then they count, and `execute` fails the sync)."""
    if not sharing.foreign:
        return plan
    foreign = sharing.foreign
    waves = []
    for wave in plan.waves:
        steps = tuple(s for s in wave.steps if s.ref not in foreign)
        if steps:
            waves.append(Wave(phase=wave.phase, wave=wave.wave, steps=steps))
    out_of_sync = [r for r in plan.out_of_sync if r not in foreign]
    if fail:
        out_of_sync += [s.ref for s in sharing.foreign_desired]
    prune = PruneDecision(
        delete=tuple(r for r in plan.prune.delete if r not in foreign),
        skipped=tuple((r, why) for r, why in plan.prune.skipped if r not in foreign),
        refused=plan.prune.refused,
    )
    pairs = tuple(p for p in plan.pairs if p.desired is not None or p.ref not in foreign)
    return replace(
        plan, pairs=pairs, waves=tuple(waves), out_of_sync=tuple(out_of_sync), prune=prune
    )


async def execute(
    plan: SyncPlan,
    target: Target,
    options: sync.SyncOptions,
    sharing: Sharing,
    *,
    fail: bool,
    app: Application | None = None,
) -> list[ResourceResult]:
    """Run `plan`; with `fail` and objects another app owns, fail before applying anything."""
    blocking = sharing.foreign_desired if fail else ()
    if blocking:
        return [
            ResourceResult(
                ref=s.ref,
                code=ResultCode.SYNC_FAILED,
                message=f"shared resource found: {s.message} ({FAIL_OPTION}=true)",
            )
            for s in blocking
        ]
    return await sync.execute(plan, target, options, app=app)
