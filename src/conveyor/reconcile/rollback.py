"""Rollback, two ways (issue 6):

* `rollback(...)` re-syncs the revision of an earlier history entry and pauses auto-sync
  visibly (status `autoSync.paused` with the reason, condition Ready=False
  AutoSyncPaused), so the next poll does not undo it at once — the complaint Argo CD
  users have, where rollback is refused while auto-sync is on. A manual `sync` resumes.
* `revert(...)` is the GitOps-pure way: it commits a revert in the config repo of every
  change to the app's path since that history entry (only that path: in a monorepo a
  commit may touch other apps too, which must not roll back with it), pushes it, and
  lets auto-sync deploy it like any other commit.
Called by `conveyor app rollback` and tests.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from conveyor.clients.errors import GitError, NothingToCommit
from conveyor.clients.gitmirror import commits_touching, revert_path
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.model import OperationState
from conveyor.reconcile.reconciler import Reconciler
from conveyor.store import HistoryRecord


def pick_entry(
    history: list[HistoryRecord], history_id: int | None, current_revision: str
) -> HistoryRecord:
    """The entry to go back to: by id, else the newest good one at another revision."""
    if history_id is not None:
        for entry in history:
            if entry.id == history_id:
                return entry
        raise ReconcileError(f"no history entry {history_id}; see `conveyor app history`")
    for entry in history:  # newest first
        if entry.result == OperationState.SUCCEEDED and entry.revision != current_revision:
            return entry
    raise ReconcileError("no earlier successful sync at another revision to roll back to")


async def rollback(
    reconciler: Reconciler, name: str, history_id: int | None = None, *, by: str = "user"
) -> dict[str, Any]:
    rt = reconciler.runtime(name)
    entry = pick_entry(reconciler.env.store.history(name), history_id, rt.applied_revision)
    short = entry.revision[:12]
    reconciler.pause(
        name,
        f"auto-sync paused by rollback to {short} (history {entry.id}); "
        f"run `conveyor app sync {name}` to resume",
    )
    return await reconciler.sync(
        name, revision=entry.revision, by=by, reason=f"rollback to history {entry.id} ({short})"
    )


async def revert(
    reconciler: Reconciler,
    name: str,
    history_id: int | None = None,
    *,
    author: tuple[str, str] = ("Conveyor", "conveyor@localhost"),
    sync: bool = True,
) -> str:
    """Commit a revert in the config repo; return its SHA.

    With `sync` (the library default) this reconciler syncs the app at once. The CLI passes
    `sync=False`: the running reconciler deploys the revert (the config repo's push hook or
    its poll refreshes it), and a second, in-process sync beside it would race it for the
    same target.
    """
    rt = reconciler.runtime(name)
    src = rt.app.source
    if rt.app.multi_source or src.chart:
        why = "it has several sources" if rt.app.multi_source else "its chart is not in Git"
        raise ReconcileError(
            f"{name} cannot be reverted by a commit: {why}; revert the change in the "
            "repository that made it"
        )
    entry = pick_entry(reconciler.env.store.history(name), history_id, rt.applied_revision)
    sources = reconciler.env.sources
    await sources.fetch(src.repo_url)
    mirror = sources.mirror(src.repo_url)
    try:
        head = await mirror.resolve(src.target_revision)
        branch = await mirror.branch_of(src.target_revision)
        shas = await commits_touching(mirror, since=entry.revision, until=head, path=src.path)
        if not shas:
            raise ReconcileError(
                f"nothing to revert: {src.path} has not changed since {entry.revision[:12]}"
            )
        message = (
            f"Revert {name} to {entry.revision[:12]}\n\nRolls back history entry "
            f"{entry.id} by reverting {', '.join(s[:12] for s in shas)}\n(only under {src.path}).\n"
        )
        with tempfile.TemporaryDirectory(prefix="conveyor-revert-") as tmp:
            sha = await revert_path(
                src.repo_url,
                branch=branch,
                revision=entry.revision,
                path=src.path,
                message=message,
                author=author,
                workdir=Path(tmp),
            )
    except NothingToCommit as exc:
        raise ReconcileError(
            f"nothing to revert: {src.path} already matches {entry.revision[:12]} "
            "(an earlier revert restored it)"
        ) from exc
    except GitError as exc:
        raise ReconcileError(f"revert failed: {exc}") from exc
    if rt.paused:
        reconciler.env.store.set_paused(name, False)
        rt.paused, rt.pause_reason = False, ""
    if sync:
        await reconciler.reconcile_apps([name])
    return sha
