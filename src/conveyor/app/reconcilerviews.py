"""The read views of the reconciler's endpoint (`app.reconcilerhttp`), as JSON: what the
web UI's application pages show (issue 15). Every view reads the reconciler's run state
(the last comparison's plan, health and desired state) and the target's live objects; none
fetches, renders or syncs, except the history diff, which renders the two revisions.

* `GET /apps/APP`: `{"status": …, "resources": [...]}`, the status of `conveyor app get
  --json` and the resource tree of `app.resourcetree` (objects, replicas, containers).
* `GET /apps/APP/object?ref=GROUP/KIND/NAMESPACE/NAME`: one object's live and desired
  manifests and the unified diff live → desired of `conveyor app diff`, with the same
  normalisation and the same Secret redaction (`reconcile.diff.redact`): a Secret's values
  never leave the reconciler.
* `GET /apps/APP/history`: the sync history entries, newest first.
* `GET /apps/APP/history/diff?from=ID&to=ID`: `app.historydiff`.

Called by `reconcilerhttp.route`; answers `(status line, body)`, 404 for an unknown app,
object or entry, 400 for a bad query, 409 when the reconciler cannot answer (no desired
state to compare, a revision that does not render).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from conveyor.app import historydiff, resourcetree
from conveyor.reconcile import steps
from conveyor.reconcile.diff import compare, redact, render_diff
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.restore import history
from conveyor.reconcile.runtime import AppRuntime
from conveyor.targets.base import OWNER_LABEL, Manifest, ObjectRef, Target, TargetError
from conveyor.targets.podman.target import PodmanTarget
from conveyor.targets.podman.views import replica_pods

View = tuple[str, dict[str, Any]]
NOT_FOUND = "404 Not Found"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


async def answer(reconciler: Reconciler, path: str) -> View:
    """The view `GET path` asks for (`path` starts with `/apps/`)."""
    where, _, query = path.partition("?")
    parts = [urllib.parse.unquote(p) for p in where.removeprefix("/apps/").split("/")]
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
    name, rest = parts[0], parts[1:]
    try:
        rt = reconciler.runtime(name)
    except KeyError as exc:
        return NOT_FOUND, {"error": str(exc.args[0])}
    try:
        if not rest:
            return "200 OK", await app_view(reconciler, rt)
        if rest == ["object"]:
            return await object_view(reconciler, rt, params.get("ref", ""))
        if rest == ["history"]:
            return "200 OK", {"entries": history(reconciler.env.store, name)}
        if rest == ["history", "diff"]:
            ids = _ids(params)
            if isinstance(ids, str):
                return "400 Bad Request", {"error": ids}
            return "200 OK", await historydiff.between(reconciler, rt, *ids)
    except historydiff.NoSuchEntry as exc:
        return NOT_FOUND, {"error": str(exc.args[0])}
    except (ReconcileError, TargetError) as exc:  # e.g. no target by the app's name
        return "409 Conflict", {"error": str(exc)}
    return NOT_FOUND, {"error": f"no such view: {where}"}


def _ids(params: dict[str, str]) -> tuple[int, int] | str:
    try:
        return int(params["from"]), int(params["to"])
    except (KeyError, ValueError):
        return "give two history entry ids: ?from=ID&to=ID (see GET /apps/APP/history)"


async def app_view(reconciler: Reconciler, rt: AppRuntime) -> dict[str, Any]:
    """The app's status and its resource tree. The tree's live side is the one the last
    comparison saw (its plan's pairs: what the sync and health shown were computed from,
    as Argo CD's tree shows its live-state cache); before any comparison, the target is
    read. The status leaves out `inventory` and `health.objects`: each resource row
    carries its own."""
    env = reconciler.env
    target = env.target(rt)
    if rt.plan is not None:
        live = {p.ref: p.live for p in rt.plan.pairs if p.live is not None}
    else:
        live = await steps.live_objects(env, rt) if rt.desired or rt.inventory else {}
    sides = resourcetree.Sides(
        desired=_desired(rt),
        live=live,
        inventory=frozenset(rt.inventory),
        plan=rt.plan,
        health=rt.health,
        replicas=tuple(replicas(target)),
    )

    def assess(obj: Manifest) -> tuple[str, str]:
        verdict = env.health.assess(obj)
        return str(verdict.status), verdict.message

    status = reconciler.status(rt.app.name)
    status.pop("inventory", None)
    status["health"] = {k: v for k, v in status["health"].items() if k != "objects"}
    return {"status": status, "resources": resourcetree.nodes(sides, assess)}


def replicas(target: Target) -> list[Manifest]:
    """The Pods a target runs for workloads, where it reports them: the Podman target's
    replica table (`<deployment>-<hash>-<slot>`). Other targets report none yet."""
    if isinstance(target, PodmanTarget):
        return replica_pods(target.controller.table)
    return []


def _desired(rt: AppRuntime) -> dict[ObjectRef, Manifest]:
    return {ObjectRef.of(o): o for o in rt.desired.manifests} if rt.desired else {}


async def object_view(reconciler: Reconciler, rt: AppRuntime, key: str) -> View:
    """One object of the app: its manifests on both sides and the diff, Secrets redacted."""
    try:
        ref = ObjectRef.parse(key)
    except ValueError:
        return "400 Bad Request", {"error": f"ref must be GROUP/KIND/NAMESPACE/NAME, not {key!r}"}
    env = reconciler.env
    desired = _desired(rt).get(ref)
    live = await env.target(rt).get(ref)
    if desired is None and ref not in rt.inventory and not _owned(live, rt):
        return NOT_FOUND, {"error": f"{ref} is not an object of {rt.app.name}"}
    compared = compare(ref, desired, live, steps.normalizer(env, rt))
    shown_live = redact(_without_last_applied(live), compared.desired, side="live")
    shown_desired = redact(desired, compared.live, side="desired")
    return "200 OK", {
        "ref": ref.key,
        "object": str(ref),
        "live": historydiff.dump(shown_live),
        "desired": historydiff.dump(shown_desired),
        "compared": {
            "live": historydiff.dump(redact(compared.live, compared.desired, side="live")),
            "desired": historydiff.dump(redact(compared.desired, compared.live, side="desired")),
        },
        "changed": compared.changed,
        "diff": render_diff(compared),
    }


def _owned(live: Manifest | None, rt: AppRuntime) -> bool:
    """Whether a live object not in Git or the inventory is still the app's: it carries
    the app's owner label, or an owner reference to one of the app's objects (a replica
    of its workload)."""
    if live is None:
        return False
    meta = live.get("metadata") or {}
    if (meta.get("labels") or {}).get(OWNER_LABEL) == rt.app.name:
        return True
    mine = {(r.kind, r.namespace, r.name) for r in (*_desired(rt), *rt.inventory)}
    namespace = str(meta.get("namespace", ""))
    return any(
        (str(o.get("kind", "")), namespace, str(o.get("name", ""))) in mine
        for o in meta.get("ownerReferences") or []
        if isinstance(o, dict)
    )


def _without_last_applied(live: Manifest | None) -> Manifest | None:
    """The live object without `kubectl apply`'s annotation: it repeats the applied object
    in full, a Secret's values in clear included."""
    notes = ((live or {}).get("metadata") or {}).get("annotations")
    if not live or not isinstance(notes, dict) or _LAST_APPLIED not in notes:
        return live
    kept = {k: v for k, v in notes.items() if k != _LAST_APPLIED}
    meta = {**live["metadata"], "annotations": kept}
    if not kept:
        del meta["annotations"]
    return {**live, "metadata": meta}
