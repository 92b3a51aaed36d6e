"""The reconcile of one app as small step functions (Flux's shape), run in order by
`reconcile.reconciler`: fetch → render → observe (live + plan) → [sync] → assess health.

Each step reads and fills the app's `AppRuntime`, and `fetch`, `render` and `run_sync`
return an `Outcome` (a `Reason` plus a message) that the reconciler keeps; none writes
status (that is `status.summarize`'s job, from the reasons). A failed fetch keeps the last
good revision; a failed render leaves no desired state, so nothing is synced and, above
all, nothing is pruned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from conveyor.core.errors import UserError
from conveyor.reconcile import annotations as object_annotations
from conveyor.reconcile import (
    appdocs,
    checkouts,
    health,
    hooknames,
    namespaces,
    operations,
    ordering,
    serverdiff,
    sharing,
    sync,
)
from conveyor.reconcile.appmodel import IN_CLUSTER_TARGET
from conveyor.reconcile.charts import Charts
from conveyor.reconcile.decrypt import Decryptor
from conveyor.reconcile.diff import Normalizer, ObjectDiff, compare
from conveyor.reconcile.errors import RenderError, SourceError, SourceNotSupported
from conveyor.reconcile.metrics import Metrics
from conveyor.reconcile.model import (
    SUCCESS,
    DesiredState,
    ObjectHealth,
    OperationState,
    Outcome,
    PruneDecision,
    PruneSkip,
    Reason,
    ResultCode,
    SyncStatus,
)
from conveyor.reconcile.notices import Notices
from conveyor.reconcile.pairing import duplicates, stamp
from conveyor.reconcile.plan import diffs, plan
from conveyor.reconcile.render import RenderCache
from conveyor.reconcile.render import digest as render_digest
from conveyor.reconcile.runtime import AppRuntime
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.substitute import substitute
from conveyor.reconcile.unseal import Unsealer
from conveyor.store import HistoryRecord, OperationRecord, Store
from conveyor.targets.base import Manifest, ObjectRef, Target, TargetError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Env:
    """What the steps need from outside: targets, state, sources, renders, metrics, clock."""

    targets: Mapping[str, Target]
    store: Store
    sources: Sources
    renders: RenderCache = field(default_factory=RenderCache)
    metrics: Metrics = field(default_factory=Metrics)
    clock: Callable[[], float] = time.time
    sync_options: sync.SyncOptions = field(default_factory=sync.SyncOptions)
    fetch_errors: dict[str, str] = field(default_factory=dict)
    health: health.Checker = health.BUILT_IN  # custom Lua scripts from the config over built-ins
    claims: sharing.Claims = field(default_factory=sharing.Claims)
    charts: Charts | None = None  # None: a chart cache under the sources' cache directory
    notices: Notices = field(default_factory=Notices)  # issue 17: what a pass tells people
    unsealer: Unsealer = field(default_factory=Unsealer)  # SealedSecrets (issue 17)

    def chart_cache(self) -> Charts:
        if self.charts is None:
            self.charts = Charts(self.sources.cache_dir / "charts")
        return self.charts

    def target(self, rt: AppRuntime) -> Target:
        """The app's target. Argo CD's in-cluster destination (`server:
        https://kubernetes.default.svc`) is "where the platform runs": the target named
        `in-cluster`, else the first target of the config (Conveyor's own host). Another
        `destination.server` URL is the target whose `server` it is (a `kubernetes`
        target's API server, from its kubeconfig)."""
        found = self.target_named(rt.app.target)
        if found is None:
            if "://" in rt.app.target:
                raise TargetError(None, f"no kubernetes target connects to {rt.app.target!r}")
            raise TargetError(None, f"no target named {rt.app.target!r} is configured")
        return found

    def target_named(self, name: str) -> Target | None:
        if name == IN_CLUSTER_TARGET and name not in self.targets and self.targets:
            return next(iter(self.targets.values()))
        if name in self.targets or "://" not in name:
            return self.targets.get(name)
        servers = {str(getattr(t, "server", "")).rstrip("/"): t for t in self.targets.values()}
        return servers.get(name)


async def fetch(env: Env, rt: AppRuntime, *, revision: str | None = None) -> Outcome:
    """Resolve every Git source's revision (`revision`, when given, applies to the app's
    primary source: a sync or rollback to a commit); FetchFailed when one has none at all.

    A chart from a Helm repository resolves its `targetRevision` (a version or a range)
    to the concrete chart version, which is its revision.
    """
    primary = rt.app.source
    revisions: list[str] = []
    outages: list[str] = []
    for src in rt.app.sources:
        if src.chart:
            try:
                revisions.append(await env.chart_cache().resolve(src))
            except SourceError as exc:
                return Outcome(reason=Reason.FETCH_FAILED, message=str(exc))
            continue
        wanted = revision if revision and src is primary else src.target_revision
        try:
            revisions.append(await env.sources.resolve(src.repo_url, wanted))
        except SourceError as exc:
            return Outcome(reason=Reason.FETCH_FAILED, message=str(exc))
        if outage := env.fetch_errors.get(src.repo_url, ""):
            outages.append(outage)
    rt.revisions = tuple(revisions)
    rt.revision = revisions[rt.app.sources.index(primary)]
    shown = rt.revision[:12]
    rt.fetch_error = f"{'; '.join(outages)}; running last good revision {shown}" if outages else ""
    return SUCCESS


async def render(env: Env, rt: AppRuntime) -> Outcome:
    """Checkout and render every source; fills `rt.desired` (stamped), or empties it and
    says why not. A multi-source app's manifests are its sources' manifests in order."""
    src = rt.app.source
    try:
        rendered = await checkouts.render_sources(
            rt.app,
            rt.revisions or (rt.revision,),
            sources=env.sources,
            charts=env.chart_cache(),
            renders=env.renders,
            decrypt=Decryptor(app=rt.app, target=lambda: env.target(rt)),  # SOPS, issue 17
        )
    except SourceError as exc:
        return _no_desired(rt, Reason.FETCH_FAILED, str(exc))
    except SourceNotSupported as exc:
        return _no_desired(rt, Reason.SOURCE_NOT_SUPPORTED, str(exc))
    except RenderError as exc:
        return _no_desired(rt, Reason.RENDER_FAILED, str(exc))
    key = (rendered.digest, rt.app.name, rt.app.namespace, *map("=".join, rt.app.substitutions))
    if rt.desired is None or rt.desired_key != key:
        objects, rt.child_docs = appdocs.split(rendered.manifests)  # app of apps: `children`
        try:
            substituted = substitute(objects, dict(rt.app.substitutions))
        except RenderError as exc:
            return _no_desired(rt, Reason.RENDER_FAILED, str(exc))
        manifests = stamp(substituted, app=rt.app.name, namespace=rt.app.namespace)
        try:  # SealedSecrets → Secrets where Conveyor unseals (issue 17); digest stays sealed
            manifests = env.unsealer.unseal(manifests, target=env.target_named(rt.app.target))
        except RenderError as exc:
            return _no_desired(rt, Reason.RENDER_FAILED, str(exc))
        digest = rendered.digest  # of the render as committed: SOPS values still encrypted
        if rt.app.substitutions:
            digest = render_digest([{"render": digest, "substitute": dict(rt.app.substitutions)}])
        dups = duplicates(manifests)
        if dups:
            message = f"{dups[0]} is defined more than once in {src.path}"
            return _no_desired(rt, Reason.RENDER_FAILED, message)
        try:
            ordering.order(manifests)  # bad hook or wave annotations are render errors
            object_annotations.check(manifests)  # and unknown Argo CD annotations
            hooknames.check(manifests)  # generateName only on hooks
        except UserError as exc:
            return _no_desired(rt, Reason.RENDER_FAILED, str(exc))
        rt.desired = DesiredState(
            app=rt.app.name,
            revision=rt.revision,
            manifests=manifests,
            digest=digest,
            path=src.path,
        )
        rt.desired_key = key
    elif rt.desired.revision != rt.revision:
        rt.desired = DesiredState(
            app=rt.app.name,
            revision=rt.revision,
            manifests=rt.desired.manifests,
            digest=rt.desired.digest,
            path=src.path,
        )
    return SUCCESS


def _no_desired(rt: AppRuntime, reason: Reason, message: str) -> Outcome:
    """A failed render leaves no desired state: nothing is synced and nothing pruned."""
    rt.desired = None
    return Outcome(reason=reason, message=message)


async def live_objects(env: Env, rt: AppRuntime) -> dict[ObjectRef, Manifest]:
    """Live objects owned by the app, plus any desired/inventoried object found by ref."""
    target = env.target(rt)
    live = {ObjectRef.of(obj): obj for obj in await target.list_owned(rt.app.name)}
    named = (
        [o for o in rt.desired.manifests if not hooknames.generate_name(o)] if rt.desired else []
    )
    wanted = {ObjectRef.of(o) for o in named}
    for ref in (wanted | rt.inventory) - live.keys():
        obj = await target.get(ref)
        if obj is not None:
            live[ref] = obj
    return live


def normalizer(env: Env, rt: AppRuntime) -> Normalizer:
    """The app's normaliser, built once per app (its per-kind rule plans are cached)."""
    if rt.normalizer is None:
        rt.normalizer = Normalizer(
            target_rules=env.target(rt).normalization, ignores=rt.app.ignore_differences
        )
    return rt.normalizer


async def object_diffs(env: Env, rt: AppRuntime) -> list[ObjectDiff]:
    """Normalised diffs of every changed object, prune candidates included (for `app diff`)."""
    assert rt.desired is not None
    live = await live_objects(env, rt)
    rules = normalizer(env, rt)
    compared = await serverdiff.stored_forms(env.target(rt), rt.app, rt.desired.manifests, live)
    changed = [d for d in diffs(rt.desired, live, rules, compared) if d.changed]
    wanted = {ObjectRef.of(o) for o in rt.desired.manifests}
    stale = [
        compare(ref, None, live[ref], rules) for ref in sorted(rt.inventory - wanted) if ref in live
    ]
    return changed + stale


async def observe(env: Env, rt: AppRuntime) -> dict[ObjectRef, Manifest]:
    """Compare desired with live: fills `rt.plan`, `rt.sync_status` and `rt.health`.

    The comparison is a pure function of (app spec, desired digest, inventory, live
    resourceVersions), so when none of those changed since the last pass the previous
    plan and health stand (Argo CD's live-state cache works the same way); a no-op pass
    over 1,000 apps then costs one `list_owned` per app.
    """
    assert rt.desired is not None
    live = await live_objects(env, rt)
    rt.sharing = _sharing(env, rt, live)
    signature = (
        rt.app,
        rt.desired.digest,
        frozenset(rt.inventory),
        frozenset(
            (ref, (obj.get("metadata") or {}).get("resourceVersion")) for ref, obj in live.items()
        ),
        rt.sharing,
    )
    if signature == rt.observed and rt.plan is not None:
        return live
    policy = rt.app.sync_policy
    planned = plan(
        rt.desired,
        live,
        inventory_refs=rt.inventory,
        normalizer=normalizer(env, rt),
        prune=policy.prune or not policy.automated,
        allow_empty=policy.allow_empty,
        compared=await serverdiff.stored_forms(env.target(rt), rt.app, rt.desired.manifests, live),
    )
    rt.plan = sharing.restrict(planned, rt.sharing, fail=policy.enabled(sharing.FAIL_OPTION))
    env.claims.pruning(rt.app.name, ((rt.app.target, r) for r in rt.plan.prune.delete))
    rt.sync_status = SyncStatus.OUT_OF_SYNC if rt.plan.out_of_sync else SyncStatus.SYNCED
    assess(rt, live, env.health)
    rt.observed = signature
    return live


def _sharing(env: Env, rt: AppRuntime, live: Mapping[ObjectRef, Manifest]) -> sharing.Sharing:
    """Which of the app's objects other apps render or own (see `sharing`)."""
    assert rt.desired is not None
    return sharing.assess(
        env.claims,
        app=rt.app.name,
        target=rt.app.target,
        manifests=rt.desired.manifests,
        live=live,
        inventory=rt.inventory,
        version=(rt.desired.digest, rt.app.target),
    )


async def run_sync(
    env: Env, rt: AppRuntime, *, initiated_by: str, reason: str, prune: bool | None = None
) -> Outcome:
    """One sync operation, written ahead to the store so a crash leaves no orphan; its
    outcome is Succeeded, or SyncFailed with the first failing object's message."""
    assert rt.desired is not None and rt.plan is not None
    desired_refs = {
        ObjectRef.of(o) for o in rt.desired.manifests if not ordering.is_hook(o)
    } - rt.sharing.foreign
    started = env.clock()
    op = OperationRecord(
        app=rt.app.name,
        revision=rt.revision,
        digest=rt.desired.digest,
        state=str(OperationState.RUNNING),
        started=started,
        initiated_by=initiated_by,
        reason=reason,
        source_path=rt.app.source.path,
        planned=tuple(sorted(r.key for r in desired_refs)),
    )
    op_id = env.store.begin_operation(op)
    rt.inventory |= desired_refs
    current = rt.plan
    await namespaces.ensure(env.target(rt), rt.app, rt.desired.manifests)
    if prune is False:
        kept = tuple((r, PruneSkip.NOT_REQUESTED) for r in current.prune.delete)
        current = replace(current, prune=PruneDecision(skipped=(*current.prune.skipped, *kept)))
    current = hooknames.name_hooks(current, started=started)
    options = replace(env.sync_options, assess=env.health.assess)
    fail_shared = rt.app.sync_policy.enabled(sharing.FAIL_OPTION)
    results = await sharing.execute(
        current, env.target(rt), options, rt.sharing, fail=fail_shared, app=rt.app
    )
    ok = sync.succeeded(results)
    pruned = {r.ref for r in results if r.code == ResultCode.PRUNED}
    gone = {p.ref for p in current.pairs if p.desired is None and p.live is None}
    rt.inventory = (rt.inventory | desired_refs) - pruned - gone - rt.sharing.foreign
    state = str(OperationState.SUCCEEDED if ok else OperationState.FAILED)
    payload = [r.to_json() for r in results]
    finished = env.clock()
    env.store.finish_operation(
        op_id,
        state=state,
        results=payload,
        inventory=[r.key for r in rt.inventory],
        app=rt.app.name,
        finished=finished,
    )
    done = replace(op, id=op_id, state=state, finished=finished, results=tuple(payload))
    rt.operation = operations.view(done)
    message = rt.operation["message"]
    env.store.add_history(
        HistoryRecord(
            app=rt.app.name,
            revision=rt.revision,
            digest=rt.desired.digest,
            started=started,
            finished=finished,
            result=state,
            initiated_by=initiated_by,
            reason=reason,
            source_path=rt.app.source.path,
        ),
        limit=rt.app.revision_history_limit,
    )
    env.metrics.count_sync(rt.app.name, state)
    if ok:
        rt.applied_revision = rt.revision
    log.info(
        "app %s: sync %s at %s (%s); next: assess health",
        rt.app.name,
        state,
        rt.revision[:12],
        message,
    )
    return operations.outcome(done)


def assess(
    rt: AppRuntime, live: Mapping[ObjectRef, Manifest], checker: health.Checker = health.BUILT_IN
) -> None:
    """Health of every non-hook desired object, by `checker`; fills `rt.health`."""
    if rt.desired is None:
        return
    objects = []
    for obj in rt.desired.manifests:
        if ordering.is_hook(obj):
            continue
        ref = ObjectRef.of(obj)
        verdict = checker.assess(live.get(ref))
        objects.append(ObjectHealth(ref=ref, status=verdict.status, message=verdict.message))
    rt.health = health.aggregate(objects)
