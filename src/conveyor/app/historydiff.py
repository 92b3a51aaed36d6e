"""The difference between the manifests of two sync history entries of one app: the
reconciler endpoint's `GET /apps/APP/history/diff?from=ID&to=ID` (`app.reconcilerviews`),
shown by the web UI's history page (issue 15).

The store keeps a revision and a manifest digest per entry, not the manifests, so both
sides are rendered again from Git at the entries' revisions, with the app's own renderer
(`reconcile.steps.fetch` and `render` on a scratch `AppRuntime`, which leaves the app's
run state alone). Both sides pass the app's normaliser (Secrets' `stringData` folded into
`data`) and `reconcile.diff.redact`, exactly as `conveyor app diff`: a Secret shows which
keys changed, never a value. A multi-source app's entries record the primary source's
revision: its other sources render at their current target revisions.
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from conveyor.reconcile import steps
from conveyor.reconcile.diff import Normalizer, compare, redact
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.runtime import AppRuntime
from conveyor.store import HistoryRecord
from conveyor.targets.base import Manifest, ObjectRef


class NoSuchEntry(LookupError):
    """The store has no history entry by that id (it keeps the last entries only)."""


async def between(
    reconciler: Reconciler, rt: AppRuntime, from_id: int, to_id: int
) -> dict[str, Any]:
    """`{"from": entry, "to": entry, "objects": [...]}`: each object that differs, with
    its change (added, removed, changed), both sides as YAML and the unified diff."""
    entries = {e.id: e for e in reconciler.env.store.history(rt.app.name)}
    missing = [i for i in (from_id, to_id) if i not in entries]
    if missing:
        raise NoSuchEntry(
            f"{rt.app.name} has no history entry {missing[0]} (the store keeps the last "
            "entries only; see GET /apps/APP/history)"
        )
    old, new = entries[from_id], entries[to_id]
    before = await manifests_at(reconciler, rt, old.revision)
    after = await manifests_at(reconciler, rt, new.revision)
    rules = steps.normalizer(reconciler.env, rt)
    return {
        "from": _entry(old),
        "to": _entry(new),
        "objects": object_changes(before, after, rules, labels=(f"#{old.id}", f"#{new.id}")),
    }


async def manifests_at(
    reconciler: Reconciler, rt: AppRuntime, revision: str
) -> dict[ObjectRef, Manifest]:
    """The app's rendered objects at `revision`, by reference (hooks included)."""
    scratch = AppRuntime(app=rt.app)
    outcome = await steps.fetch(reconciler.env, scratch, revision=revision)
    if outcome.ok:
        outcome = await steps.render(reconciler.env, scratch)
    if not outcome.ok or scratch.desired is None:
        raise ReconcileError(f"{rt.app.name} does not render at {revision[:12]}: {outcome.message}")
    return {ObjectRef.of(o): o for o in scratch.desired.manifests}


def object_changes(
    before: dict[ObjectRef, Manifest],
    after: dict[ObjectRef, Manifest],
    rules: Normalizer,
    *,
    labels: tuple[str, str],
) -> list[dict[str, Any]]:
    """One row per object that differs, in reference order; Secrets redacted."""
    rows = []
    for ref in sorted(set(before) | set(after)):
        # `compare` takes (desired, live): here the newer and the older side
        pair = compare(ref, after.get(ref), before.get(ref), rules)
        if not pair.changed:
            continue
        old = dump(redact(pair.live, pair.desired, side=labels[0]))
        new = dump(redact(pair.desired, pair.live, side=labels[1]))
        change = "added" if pair.live is None else "removed" if pair.desired is None else "changed"
        lines = difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=f"{labels[0]}/{ref}",
            tofile=f"{labels[1]}/{ref}",
            lineterm="",
        )
        rows.append(
            {
                "ref": ref.key,
                "object": str(ref),
                "change": change,
                "before": old,
                "after": new,
                "diff": list(lines),
            }
        )
    return rows


def _entry(entry: HistoryRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "revision": entry.revision,
        "digest": entry.digest,
        "finished": entry.finished,
        "result": entry.result,
        "initiatedBy": entry.initiated_by,
        "reason": entry.reason,
    }


def dump(obj: Manifest | None) -> str:
    """YAML text of a manifest ('' for none), keys sorted as `conveyor app diff` prints."""
    if obj is None:
        return ""
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False)
