"""The CI service: events become runs, runs become jobs that runners take one by one.

One `CIService` per server process (built by `conveyor.server.main`); the HTTP routes, the
Git push hook, the local runner pool and the tests call its methods. It is a facade: it
builds the service's parts from one `Deps` (`ci.wiring`, which lists them) and passes each
call on to the part that owns it — new runs from events (`ci.newruns`), cancel
(`ci.cancels`), re-run (`ci.reruns`), environment rules before dispatch (`ci.gates`) and
reviews (`ci.settings`), what runners call (`ci.runnerapi`), recovery after a restart and
the heartbeat clock (`ci.recovery`). Workflow- and job-level concurrency groups are
`ci.groups`, the run's step function `ci.dispatch`, how units and runs end `ci.endings`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conveyor.ci.crypto import SecretBox
from conveyor.ci.deps import LOCAL_LABELS, Deps, ServiceConfig, Wake
from conveyor.ci.errors import NotFound
from conveyor.ci.intake import PushIntake
from conveyor.ci.model import BeatAnswer
from conveyor.ci.pushspool import PushSpool
from conveyor.ci.runnerscope import ALL
from conveyor.ci.wiring import wire
from conveyor.core.notices import NoNotices, Publisher
from conveyor.store.ci_store import CIStore
from conveyor.workflow.plan.event import Event

__all__ = ["LOCAL_LABELS", "CIService", "ServiceConfig", "Wake"]


class CIService:
    """Runs, queue and rules of the CI service (see the module docstring)."""

    def __init__(
        self,
        store: CIStore,
        box: SecretBox,
        config: ServiceConfig,
        *,
        on_push: Callable[[str, str], None] | None = None,
        notices: Publisher | None = None,
    ) -> None:
        self.deps = Deps(
            store=store, box=box, config=config, wake=Wake(), notices=notices or NoNotices()
        )
        self.store = store
        self.box = box
        self.config = config
        self.masker = self.deps.masker  # every secret value this process has seen
        self.wake = self.deps.wake
        self.counters = self.deps.counters
        config.git_root.mkdir(parents=True, exist_ok=True)
        self.parts = parts = wire(self.deps, on_push)
        self.runners = parts.runners
        # pushes as git reports them, each ref update once (issue 18): `ci.intake`
        self.pushes = PushIntake(
            PushSpool(config.data_dir / "pushes"), parts.new_runs.handle_update
        )

    # -- hosted repositories and runs ----------------------------------------------------

    def repo_path(self, full_name: str) -> Path:
        return self.parts.hosted.path(full_name)

    def create_repo(self, full_name: str) -> Path:
        return self.parts.hosted.create(full_name)

    def repos(self) -> list[str]:
        return self.parts.hosted.names()

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
        return await self.parts.new_runs.handle_push(
            full_name, ref=ref, before=before, after=after, pusher=pusher, delivery=delivery
        )

    async def handle_event(
        self,
        event: Event,
        *,
        git_dir: Path,
        workflow: str | None = None,
        delivery: Mapping[str, Any] | None = None,
    ) -> list[int]:
        return await self.parts.new_runs.handle_event(
            event, git_dir=git_dir, workflow=workflow, delivery=delivery
        )

    def dispatch(
        self, full_name: str, *, workflow: str, ref: str, inputs: Mapping[str, str], actor: str
    ) -> Event:
        """The workflow_dispatch event (`handle_event(…, workflow=)` queues its run)."""
        return self.parts.new_runs.dispatch_event(full_name, ref=ref, inputs=inputs, actor=actor)

    def run_view(self, run_id: int) -> dict[str, Any]:
        """The run as the API shows it: jobs, units, approvals; never secrets."""
        run = self.store.run(run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        run.pop("payload", None)
        run["jobs"] = self.store.jobs(run_id)
        shown = ("id", "job_id", "name", "labels", "environment", "status", "conclusion", "runner")
        run["units"] = [  # how the jobs were dispatched: labels, runner, state
            {k: u[k] for k in shown} for u in self.store.units(run_id=run_id)
        ]
        run["approvals"] = self.store.config.approvals(run_id=run_id)
        return run

    def artifact_path(self, run_id: int, name: str) -> Path:
        return self.parts.artifacts.path(run_id, name)

    def artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """The run's artifacts: name and size of each archive (tar.gz)."""
        self.parts.ledger.run(run_id)
        return self.parts.artifacts.listing(run_id)

    def cancel(
        self, run_id: int, *, reason: str = "cancelled by a user", force: bool = False
    ) -> None:
        self.parts.cancels.cancel(run_id, reason=reason, force=force)

    def enforce_cancel_timeout(self) -> None:
        self.parts.cancels.enforce_cancel_timeout()

    def rerun(self, run_id: int, *, failed_only: bool = False) -> int:
        return self.parts.reruns.rerun(run_id, failed_only=failed_only)

    def recover(self) -> None:
        self.parts.recovery.recover()

    async def supervise(
        self,
        stop: asyncio.Event,
        *,
        every: float = 0.5,
        serving: Callable[[], bool] = lambda: True,
    ) -> None:
        await self.parts.recovery.supervise(stop, every=every, serving=serving)

    # -- settings ------------------------------------------------------------------------

    def put_secret(self, scope: str, name: str, value: str) -> None:
        self.parts.settings.put_secret(scope, name, value)

    def delete_secret(self, scope: str, name: str) -> None:
        self.parts.settings.delete_secret(scope, name)

    def secret_names(self, scope: str) -> list[dict[str, Any]]:
        return self.parts.settings.secret_names(scope)

    def load_masks(self, scopes: Sequence[str]) -> None:
        self.parts.settings.load_masks(scopes)

    def put_variable(self, scope: str, name: str, value: str) -> None:
        self.parts.settings.put_variable(scope, name, value)

    def delete_variable(self, scope: str, name: str) -> None:
        self.parts.settings.delete_variable(scope, name)

    def put_environment(
        self,
        repo: str,
        name: str,
        *,
        reviewers: Sequence[str] = (),
        wait_timer: float = 0.0,
        branches: Sequence[str] = (),
    ) -> None:
        self.parts.settings.put_environment(
            repo, name, reviewers=reviewers, wait_timer=wait_timer, branches=branches
        )

    def check_environment(self, run_id: int, environment: str) -> dict[str, Any]:
        return self.parts.settings.check_environment(run_id, environment)

    def decide(
        self,
        run_id: int,
        environment: str,
        *,
        user: str,
        admin: bool,
        approve: bool,
        comment: str = "",
    ) -> None:
        """A review; the run's waiting jobs are then queued, or fail when rejected."""
        self.parts.settings.decide(
            run_id, environment, user=user, admin=admin, approve=approve, comment=comment
        )
        self.parts.gates.release_waiting(run_id)
        self.wake.set()

    def release_waiting(self, run_id: int | None = None) -> None:
        self.parts.gates.release_waiting(run_id)

    # -- what runners call (`ci.runnerapi`) ----------------------------------------------

    async def poll(
        self,
        runner: str,
        *,
        labels: Sequence[str],
        kind: str = "remote",
        ephemeral: bool = False,
        timeout: float = 20.0,
        scope: str = ALL,
        only_unit: int | None = None,
        containers: bool = True,
    ) -> dict[str, Any] | None:
        return await self.runners.poll(
            runner,
            labels=labels,
            kind=kind,
            ephemeral=ephemeral,
            timeout=timeout,
            scope=scope,
            only_unit=only_unit,
            containers=containers,
        )

    def beat(self, run_id: int, runner: str) -> bool:
        return self.runners.beat(run_id, runner)

    def beat_answer(self, run_id: int, runner: str) -> BeatAnswer:
        return self.runners.beat_answer(run_id, runner)

    def add_logs(self, run_id: int, runner: str, lines: Sequence[tuple[str, str]]) -> bool:
        return self.runners.add_logs(run_id, runner, lines)

    def set_job(self, run_id: int, runner: str, name: str, fields: Mapping[str, Any]) -> bool:
        return self.runners.set_job(run_id, runner, name, fields)

    def complete(self, run_id: int, runner: str, result: Mapping[str, Any]) -> None:
        self.runners.complete(run_id, runner, result)

    async def environment_gate(
        self, run_id: int, runner: str, job: str, environment: str, *, wait: float = 20.0
    ) -> dict[str, Any]:
        return await self.runners.environment_gate(run_id, runner, job, environment, wait=wait)

    def save_artifact(self, run_id: int, runner: str, name: str, data: bytes) -> None:
        self.runners.save_artifact(run_id, runner, name, data)

    def read_artifact(self, run_id: int, runner: str, name: str) -> bytes | None:
        return self.runners.read_artifact(run_id, runner, name)

    def record_deployment(
        self, run_id: int, runner: str, *, job: str, environment: str, url: str, result: str
    ) -> None:
        self.runners.record_deployment(
            run_id, runner, job=job, environment=environment, url=url, result=result
        )
