"""The CI service: events become runs, runs become jobs that runners take one by one.

One `CIService` per server process (built by `conveyor.server.main`); the HTTP routes, the
Git push hook, the local runner pool and the tests call its methods. It owns the rules:
triggers (`ci.triggers`), workflow-level concurrency groups across runs (one in progress
and one pending per group; `cancel-in-progress`; a newer pending run replaces the older
one, as GitHub does), cancel (`ci.cancels`: jobs whose `if` holds after a cancellation
still run) and re-run (all jobs, or the failed ones and their dependants with the other
jobs' results, outputs and artifacts kept), environment rules before dispatch
(`ci.gates`), commit statuses, and recovery after a restart (jobs of the local pool are
failed as GitHub fails a job whose runner shut down; jobs on remote agents keep going and
are failed only when their heartbeat stops). Per-job dispatch is in `ci.dispatch` and
`ci.jobplan`, job-level groups in `ci.jobgroups`, runner-facing calls in `ci.runnerapi`,
configuration (secrets, variables, environments, approvals) in `ci.settings`, the
workflow-level queueing rules in `ci.concurrency`.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conveyor.ci import events as ci_events
from conveyor.ci import refs as ci_refs
from conveyor.ci.cancels import Cancels
from conveyor.ci.concurrency import ConcurrencyGroups
from conveyor.ci.crypto import SecretBox
from conveyor.ci.dispatch import UNFINISHED, JobDispatch
from conveyor.ci.errors import CIError, NotFound
from conveyor.ci.gates import EnvironmentGates
from conveyor.ci.intake import PushIntake
from conveyor.ci.jobgroups import JobGroups
from conveyor.ci.pushspool import PushSpool, ReceivedPush, RefUpdate, install_hook
from conveyor.ci.recovery import Recovery
from conveyor.ci.reruns import Reruns
from conveyor.ci.retention import DEFAULT_RETENTION_DAYS
from conveyor.ci.runnerapi import RunnerAPI
from conveyor.ci.settings import Settings
from conveyor.ci.triggers import (
    RunPlan,
    changed_files,
    commit_message,
    plan_runs,
)
from conveyor.ci.workspaces import DEFAULT_DISK_LIMIT
from conveyor.core.gitargs import repository_name_problem
from conveyor.store.ci_store import CIStore
from conveyor.workflow.plan.event import Event
from conveyor.workflow.run.masking import Masker

log = logging.getLogger(__name__)

LOCAL_LABELS = (
    "self-hosted",
    "linux",
    "x64",
    "local",
    "ubuntu-latest",
    "ubuntu-24.04",
    "ubuntu-22.04",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceConfig:
    """Where the service keeps repositories and work directories, and its timings."""

    data_dir: Path
    heartbeat_timeout: float = 30.0
    cancel_timeout: float = 300.0  # GitHub's: a cancelled job still running is then ended
    local_labels: tuple[str, ...] = LOCAL_LABELS
    public_url: str = ""  # how remote runners reach /git (clone URLs)
    job_disk_limit: int = DEFAULT_DISK_LIMIT  # bytes a job's work directory may use; 0: any
    retention_days: float = DEFAULT_RETENTION_DAYS  # logs and artifacts of concluded runs
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def git_root(self) -> Path:
        return self.data_dir / "git"


class Wake(asyncio.Event):
    """The queue's wake-up call, set by code on the server's loop and by the sync routes in
    worker threads (a plain asyncio.Event set off its loop wakes no waiter until the
    waiter's timeout: a second per job handed from a remote runner to the next)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def wait(self) -> Literal[True]:
        self.loop = asyncio.get_running_loop()
        return await super().wait()

    def set(self) -> None:
        loop = self.loop
        if loop is not None and loop.is_running():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(super().set)
                return
        super().set()


class CIService(
    RunnerAPI,
    Settings,
    ConcurrencyGroups,
    JobDispatch,
    JobGroups,
    EnvironmentGates,
    Cancels,
    Recovery,
    Reruns,
):
    """Runs, queue and rules of the CI service (see the module docstring)."""

    def __init__(
        self,
        store: CIStore,
        box: SecretBox,
        config: ServiceConfig,
        *,
        on_push: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.box = box
        self.config = config
        self.masker = Masker()  # every secret value this process has seen: masks server logs
        self.on_push = on_push  # (full_name, clone_url) after each hosted push: reconciler
        self.wake: asyncio.Event = Wake()
        self.lock = threading.RLock()  # run advancement: sync routes run in worker threads
        self.counters: dict[str, int] = {}
        config.git_root.mkdir(parents=True, exist_ok=True)
        # pushes as git reports them, each ref update once (issue 18): `ci.intake`
        self.pushes = PushIntake(PushSpool(config.data_dir / "pushes"), self._handle_update)

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    # -- hosted repositories -----------------------------------------------------------

    def repo_path(self, full_name: str) -> Path:
        owner, _, name = full_name.partition("/")
        if not owner or not name or ".." in full_name or "/" in name:
            raise NotFound(f"no such repository {full_name!r}")
        return self.config.git_root / owner / f"{name.removesuffix('.git')}.git"

    def git_dir_of(self, full_name: str) -> Path:
        """Where a run's commits are: the hosted repository, else the mirror of a repository
        followed through GitHub webhooks (`<data>/mirrors/<owner>/<name>.git`)."""
        hosted = self.repo_path(full_name)
        mirror = self.config.data_dir / "mirrors" / f"{full_name}.git"
        return mirror if not hosted.exists() and mirror.exists() else hosted

    def create_repo(self, full_name: str) -> Path:
        """A hosted bare repository; the name follows GitHub's rules (else `CIError`, 400)."""
        problem = repository_name_problem(full_name)
        if problem:
            raise CIError(f"repository name {full_name[:120]!r} {problem}")
        path = self.repo_path(full_name)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    "git",
                    "init",
                    "--quiet",
                    "--bare",
                    "--initial-branch=main",
                    "--end-of-options",
                    str(path),
                ],
                check=True,
            )
        install_hook(path)
        return path

    def repos(self) -> list[str]:
        root = self.config.git_root
        return sorted(
            f"{p.parent.name}/{p.name.removesuffix('.git')}" for p in root.glob("*/*.git")
        )

    def clone_url(self, full_name: str) -> str:
        base = self.config.public_url.rstrip("/")
        return f"{base}/git/{full_name}.git" if base else str(self.repo_path(full_name))

    # -- events -------------------------------------------------------------------------

    async def _handle_update(
        self, push: ReceivedPush, update: RefUpdate, delivery: str
    ) -> list[int]:
        """One ref update of a spooled push (`ci.intake`), recorded once as `delivery`."""
        return await self.handle_push(
            push.repo,
            ref=update.ref,
            before=update.before,
            after=update.after,
            pusher=push.pusher,
            delivery={
                "delivery": delivery,
                "repo": push.repo,
                "ref": update.ref,
                "before": update.before,
                "after": update.after,
                "pusher": push.pusher,
                "received": push.received,
            },
        )

    async def handle_push(
        self,
        full_name: str,
        *,
        ref: str,
        before: str,
        after: str,
        pusher: str,
        delivery: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """A push to a hosted repository: tell the reconciler, then queue matching workflows.
        With `delivery` (a `ci_push_deliveries` row), the runs are added only if that
        delivery was not recorded before, in the transaction that records it."""
        self.count("pushes")
        git_dir = self.repo_path(full_name)
        if self.on_push is not None:
            self.on_push(full_name, str(git_dir))
        if after == ci_events.ZERO:
            if delivery is not None:
                self.store.add_delivery_runs(delivery, [])
            return []
        changed = await asyncio.to_thread(changed_files, git_dir, before, after)
        message = await asyncio.to_thread(commit_message, git_dir, after)
        event = ci_events.push_event(
            full_name=full_name,
            clone_url=self.clone_url(full_name),
            ref=ref,
            before=before,
            after=after,
            pusher=pusher,
            message=message,
            changed=changed,
        )
        return await self.handle_event(event, git_dir=git_dir, delivery=delivery)

    async def handle_event(
        self,
        event: Event,
        *,
        git_dir: Path,
        workflow: str | None = None,
        delivery: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Queue a run per workflow `event` triggers (failed runs for invalid files);
        `workflow` (a file name or path) keeps only that one (workflow_dispatch); with
        `delivery`, only if it is new (see `handle_push`)."""
        plans = await asyncio.to_thread(plan_runs, git_dir, event)
        if workflow is not None:
            plans = [p for p in plans if workflow in (p.workflow_path, Path(p.workflow_path).name)]
        if delivery is None:
            return [self._add_run(plan, event) for plan in plans]
        values = [self._run_values(plan, event) for plan in plans]
        ids = self.store.add_delivery_runs(delivery, values)
        if ids is None:
            log.info("push %s was handed over before: no run added again", delivery["delivery"])
            return []
        for run_id, plan in zip(ids, plans, strict=True):
            self._queue_new(run_id, plan, event)
        return ids

    def _add_run(self, plan: RunPlan, event: Event) -> int:
        run_id = self.store.add_run(self._run_values(plan, event))
        self._queue_new(run_id, plan, event)
        return run_id

    def _run_values(self, plan: RunPlan, event: Event) -> dict[str, Any]:
        now = time.time()
        return {
            "repo": event.repository,
            "clone_url": self.clone_url(event.repository),
            "workflow_path": plan.workflow_path,
            "workflow_name": plan.workflow_name,
            "event": event.name,
            "ref": event.ref,
            "sha": event.sha,
            "payload": dict(event.payload),
            "labels": list(plan.labels),
            "concurrency_group": plan.concurrency_group,
            "cancel_in_progress": int(plan.cancel_in_progress),
            "annotations": [dict(a) for a in plan.annotations],
            "status": "completed" if plan.invalid else "pending",
            "conclusion": "failure" if plan.invalid else "",
            "reason": "invalid workflow file" if plan.invalid else "",
            "created": now,
            "finished": now if plan.invalid else None,
        }

    def _queue_new(self, run_id: int, plan: RunPlan, event: Event) -> None:
        self.count("runs_created")
        self._status(run_id, "failure" if plan.invalid else "pending")
        if not plan.invalid:
            self._enqueue(run_id)
        log.info(
            "run %d: %s %s at %s (%s)",
            run_id,
            event.repository,
            plan.workflow_path,
            event.sha[:12],
            "invalid" if plan.invalid else "queued",
        )

    # -- runs ---------------------------------------------------------------------------

    def _run(self, run_id: int) -> dict[str, Any]:
        run = self.store.run(run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        return run

    def run_view(self, run_id: int) -> dict[str, Any]:
        """The run as the API shows it: jobs, units, approvals; never secrets."""
        run = self._run(run_id)
        run.pop("payload", None)
        run["jobs"] = self.store.jobs(run_id)
        run["units"] = [  # how the jobs were dispatched: labels, runner, state
            {
                k: u[k]
                for k in (
                    "job_id",
                    "name",
                    "labels",
                    "environment",
                    "status",
                    "conclusion",
                    "runner",
                )
            }
            for u in self.store.units(run_id=run_id)
        ]
        run["approvals"] = self.store.config.approvals(run_id=run_id)
        return run

    def artifact_path(self, run_id: int, name: str) -> Path:
        safe = name.replace("/", "_").replace("\\", "_").lstrip(".") or "_"
        return self.config.data_dir / "artifacts" / str(run_id) / f"{safe}.tar.gz"

    def artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """The run's artifacts: name and size of each archive (tar.gz)."""
        self._run(run_id)
        folder = self.config.data_dir / "artifacts" / str(run_id)
        if not folder.is_dir():
            return []
        return [
            {"name": p.name.removesuffix(".tar.gz"), "size": p.stat().st_size}
            for p in sorted(folder.glob("*.tar.gz"))
        ]

    def _conclude(
        self, run_id: int, conclusion: str, reason: str = "", *, logged: bool = False
    ) -> None:
        """End the run; its `reason` goes to the log unless it is `logged` there already."""
        with self.lock:  # not while a job of the run is being planned (ci.dispatch)
            self._conclude_locked(run_id, conclusion, reason, logged=logged)

    def _conclude_locked(
        self, run_id: int, conclusion: str, reason: str, *, logged: bool = False
    ) -> None:
        run = self._run(run_id)
        if run["status"] == "completed":
            return
        self.store.update_run(
            run_id, status="completed", conclusion=conclusion, reason=reason, finished=time.time()
        )
        unfinished = "cancelled" if conclusion in ("success", "skipped") else conclusion
        for unit in self.store.units(run_id=run_id, status=UNFINISHED):
            self._finish_unit(unit, unfinished, advance=False)
        for approval in self.store.config.approvals(state="pending", run_id=run_id):
            # nothing of the run waits for it any more: off the pending list
            self.store.config.decide(
                run_id, approval["environment"], state="cancelled", by="", comment=reason
            )
        for job in self.store.jobs(run_id):
            if job["status"] != "completed":
                self.store.upsert_job(
                    run_id,
                    job["name"],
                    status="completed",
                    conclusion=conclusion if conclusion != "success" else "",
                )
        if reason and not logged:
            self.store.add_logs(run_id, [("", reason)])
        self._status(run_id, conclusion)
        self.count(f"runs_{conclusion}")
        log.info("run %d: %s%s", run_id, conclusion, f" ({reason})" if reason else "")
        self._release_group(run)
        self.wake.set()

    def _status(self, run_id: int, state: str) -> None:
        run = self._run(run_id)
        mapped = {
            "cancelled": "error",
            "in_progress": "pending",
            "queued": "pending",
            "waiting": "pending",
            "skipped": "success",
        }.get(state, state)
        self.store.set_status(
            run["repo"],
            run["sha"],
            f"conveyor/{run['workflow_name']}",
            state=mapped,
            description=f"{run['workflow_name']}: {state}",
            target_url=f"/api/v1/runs/{run_id}",
        )

    def dispatch(
        self, full_name: str, *, workflow: str, ref: str, inputs: Mapping[str, str], actor: str
    ) -> Event:
        git_dir = self.repo_path(full_name)
        if not git_dir.exists():
            raise NotFound(f"no repository {full_name}")
        found = ci_refs.resolve(git_dir, ref)  # exactly a branch or a tag (issue 12, #10)
        return ci_events.dispatch_event(
            full_name=full_name,
            clone_url=self.clone_url(full_name),
            ref=found.ref,
            sha=found.sha,
            actor=actor,
            inputs=dict(inputs),
        )
