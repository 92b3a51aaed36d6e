"""The CI service's parts, built once from one `Deps` and handed what each calls.

`wire(deps, on_push)` is called by `CIService.__init__` only. Each part has one job:

    Ledger          ci.ledger        store rows read as frozen `ci.model` values
    RunWorkflows    ci.runworkflows  a run's workflow (cached) and its planning contexts
    CommitStatuses  ci.statuses      commit statuses of runs and environments
    HostedRepos     ci.hosted        hosted repositories and mirrors, clone URLs
    ArtifactStore   ci.artifactstore runs' artifacts on the server's disk
    Settings        ci.settings      secrets, variables, environments, approvals
    Endings         ci.endings       a unit or a run concludes; a running unit stops
    Dispatcher      ci.dispatch      the run's step function: plan ready jobs, add units
    Gates           ci.gates         environment rules before a unit is queued
    Cancels         ci.cancels       cancel a run; which jobs still run
    Groups          ci.groups        workflow- and job-level concurrency groups
    NewRuns         ci.newruns       events become runs
    Reruns          ci.reruns        new attempts of completed runs
    Recovery        ci.recovery      after a restart; heartbeats and timers
    RunnerProtocol  ci.runnerapi     what runners call

The run's step function closes one loop: a unit or a run that ends frees its concurrency
group and advances its run, and advancing a run adds units that meet their group. The
parts are built bottom-up; the four calls that go back up the loop (`Endings.advance`,
`Endings.release_unit_group` and `release_run_group`, `Dispatcher.enqueue_unit`) are
closures over parts built after them, here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conveyor.ci.artifactstore import ArtifactStore
from conveyor.ci.cancels import Cancels
from conveyor.ci.deps import Deps
from conveyor.ci.dispatch import Dispatcher
from conveyor.ci.endings import Endings
from conveyor.ci.gates import Gates
from conveyor.ci.groups import Groups
from conveyor.ci.hosted import HostedRepos
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import Run, Unit
from conveyor.ci.newruns import NewRuns
from conveyor.ci.recovery import Recovery
from conveyor.ci.reruns import Reruns
from conveyor.ci.runnerapi import RunnerProtocol
from conveyor.ci.runworkflows import RunWorkflows
from conveyor.ci.settings import Settings
from conveyor.ci.statuses import CommitStatuses


@dataclass(frozen=True, slots=True, kw_only=True)
class Parts:
    """The collaborators `CIService` passes its calls on to."""

    ledger: Ledger
    hosted: HostedRepos
    artifacts: ArtifactStore
    settings: Settings
    gates: Gates
    cancels: Cancels
    new_runs: NewRuns
    reruns: Reruns
    recovery: Recovery
    runners: RunnerProtocol


def wire(deps: Deps, on_push: Callable[[str, str], None] | None = None) -> Parts:
    """Every part of the service, each handed the parts it calls."""
    ledger = Ledger(deps.store)
    hosted = HostedRepos(deps.config)
    artifacts = ArtifactStore(deps.config.data_dir)
    workflows = RunWorkflows(deps.store, hosted.git_dir_of)
    statuses = CommitStatuses(deps.store)
    settings = Settings(deps, ledger)

    def advance(run_id: int) -> None:
        dispatcher.advance(run_id)

    def release_unit_group(unit: Unit) -> None:
        groups.release_unit(unit)

    def release_run_group(run: Run) -> None:
        groups.release_run(run)

    def enqueue_unit(unit_id: int) -> None:
        groups.enqueue_unit(unit_id)

    endings = Endings(
        deps,
        ledger,
        workflows,
        statuses,
        advance=advance,
        release_unit_group=release_unit_group,
        release_run_group=release_run_group,
    )
    dispatcher = Dispatcher(deps, ledger, workflows, statuses, endings, enqueue_unit=enqueue_unit)
    gates = Gates(
        deps, ledger, statuses, endings, settings, refresh_run_status=dispatcher.refresh_run_status
    )
    cancels = Cancels(deps, ledger, workflows, endings, advance=dispatcher.advance)
    groups = Groups(deps, ledger, cancels, endings, gates, advance=dispatcher.advance)
    return Parts(
        ledger=ledger,
        hosted=hosted,
        artifacts=artifacts,
        settings=settings,
        gates=gates,
        cancels=cancels,
        new_runs=NewRuns(
            deps, ledger, hosted, statuses, enqueue_run=groups.enqueue_run, on_push=on_push
        ),
        reruns=Reruns(deps, ledger, workflows, statuses, artifacts, enqueue_run=groups.enqueue_run),
        recovery=Recovery(
            deps,
            ledger,
            dispatcher=dispatcher,
            endings=endings,
            groups=groups,
            gates=gates,
            cancels=cancels,
        ),
        runners=RunnerProtocol(
            deps,
            ledger,
            workflows=workflows,
            statuses=statuses,
            settings=settings,
            cancels=cancels,
            endings=endings,
            artifacts=artifacts,
        ),
    )
