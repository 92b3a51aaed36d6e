"""The reconciler's side of a commit's delivery trace (issue 17): deploy, sync, rollout.

A promotion commit in the config repo names the build it deploys in its
`Conveyor-Source-Commit` trailer (written by `conveyor promote`); that SHA is the trace
(`core.tracing.commit_trace`), so the reconciler needs nothing else from CI. When a pass of
an app syncs such a revision, `DeliveryTrace` opens a delivery; once the app is Synced and
Healthy (in that pass or a later one) it records, under the commit's root span:

    deploy <app>  [the pass that synced it starts → first healthy]
      reconcile   [pass start → sync start]   fetch, render, compare
      sync        [sync start → sync end]     the operation (its phase, revision)
      rollout     [sync end → first healthy]  new replicas ready, old ones drained

The three children tile `deploy`. A failed sync is recorded at once (as failed, with no
rollout); a newer sync of the app before it was healthy drops the older delivery; a sync of
the revision the app last synced (self-healing drift, a manual sync) is no delivery. Called
by `Reconciler.reconcile_one` after each app's pass (`observe`); does nothing (not even
reading Git) when tracing is off.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.clients.errors import GitError
from conveyor.clients.gitmirror import git
from conveyor.core import tracing
from conveyor.core.tracing import SpanRef, commit_trace, derived
from conveyor.reconcile.model import OperationState
from conveyor.reconcile.runtime import AppRuntime
from conveyor.reconcile.sources import Sources

log = logging.getLogger(__name__)

# one trailer of `promote.trailers`' format (reconcile must not import promote)
_SOURCE = re.compile(r"^Conveyor-Source-Commit:[ \t]*([0-9a-fA-F]{7,64})[ \t]*$", re.MULTILINE)
_SUCCEEDED = str(OperationState.SUCCEEDED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A traced revision an app synced, waiting for its first healthy state."""

    app: str
    source: str  # the source commit
    revision: str  # the promotion commit in the config repo
    seen: float  # the start of the pass that synced it
    sync_started: float
    sync_finished: float
    phase: str
    operation: str  # the sync operation's id


class DeliveryTrace:
    """Open deliveries per app (see the module docstring)."""

    def __init__(self, sources: Sources, clock: Callable[[], float]) -> None:
        self.sources = sources
        self.clock = clock
        self._traced_ops: dict[str, Any] = {}
        self._open: dict[str, Delivery] = {}
        self._delivered: dict[str, str] = {}  # the last revision each app synced anew

    async def observe(self, rt: AppRuntime, pass_started: float) -> None:
        """After a pass of `rt`'s app that started at `pass_started`."""
        if not tracing.enabled():
            return
        name = rt.app.name
        op = rt.operation or {}
        fresh = float(op.get("started") or 0.0) >= pass_started and op.get("finished")
        revision = str(op.get("revision") or "")
        if fresh and self._traced_ops.get(name) != op.get("id"):
            self._traced_ops[name] = op.get("id")
            if self._delivered.get(name) != revision:  # not a self-heal of the same one
                await self._open_delivery(rt, op, pass_started)
        delivery = self._open.get(name)
        if delivery is not None and (delivery.phase != _SUCCEEDED or rt.ready):
            del self._open[name]
            self._record(delivery, self.clock())

    async def _open_delivery(self, rt: AppRuntime, op: dict[str, Any], started: float) -> None:
        name = rt.app.name
        if self._open.pop(name, None) is not None:
            log.info("app %s: a newer sync supersedes the traced delivery", name)
        revision = str(op.get("revision") or "")
        self._delivered[name] = revision
        source = await self._source_of(rt, revision)
        if source:
            self._open[name] = _delivery(name, source, op, started)

    async def _source_of(self, rt: AppRuntime, revision: str) -> str:
        """The `Conveyor-Source-Commit` of the revision's commit message, or ""."""
        if not revision:
            return ""
        mirror = self.sources.mirror(rt.app.source.repo_url)
        try:
            out = await git("log", "-1", "--format=%B", revision, "--", cwd=mirror.path)
        except GitError as exc:
            log.warning("app %s: cannot read %s for its trace: %s", rt.app.name, revision, exc)
            return ""
        found = _SOURCE.findall(out.decode(errors="replace"))
        return found[-1].lower() if found else ""

    def _record(self, d: Delivery, healthy: float) -> None:
        root = commit_trace(d.source)
        deploy = derived(root, "deploy", d.app, d.revision, d.operation)
        failed = "" if d.phase == _SUCCEEDED else f"sync {d.phase}"
        end = healthy if not failed else d.sync_finished
        attributes = {
            "conveyor.app": d.app,
            "conveyor.revision": d.revision,
            "vcs.ref.head.revision": d.source,
            "conveyor.sync.phase": d.phase,
        }
        with tracing.inside(deploy):
            _stage("reconcile", deploy, d.seen, d.sync_started)
            _stage("sync", deploy, d.sync_started, d.sync_finished, error=failed)
            if not failed:
                _stage("rollout", deploy, d.sync_finished, healthy)
            tracing.record(
                f"deploy {d.app}", ref=deploy, parent=root, start=d.seen, end=end,
                attributes=attributes, error=failed,
            )  # fmt: skip
            log.info(
                "app %s: %s of %s %s %.2fs after the pass that synced it began",
                d.app, d.revision[:12], d.source[:12],
                f"failed ({failed})" if failed else "healthy", end - d.seen,
            )  # fmt: skip


def _stage(name: str, parent: SpanRef, start: float, end: float, *, error: str = "") -> None:
    ref = derived(parent, name)
    tracing.record(name, ref=ref, parent=parent, start=start, end=end, error=error)


def _delivery(app: str, source: str, op: dict[str, Any], pass_started: float) -> Delivery:
    return Delivery(
        app=app,
        source=source,
        revision=str(op.get("revision") or ""),
        seen=pass_started,
        sync_started=float(op["started"]),
        sync_finished=float(op["finished"]),
        phase=str(op.get("phase") or ""),
        operation=str(op.get("id") or ""),
    )
