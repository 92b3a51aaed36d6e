"""Runs the triggered workflows of one event, all at once, and collects the results.

Called by `conveyor.app.cmd_run` after every workflow was validated and the plan decided
(`Selected`). Writes the event payload to `<run_dir>/event.json` (GITHUB_EVENT_PATH), gives
each workflow its typed `inputs` (workflow_dispatch: `inputs.x` typed, `github.event.inputs.x`
strings), honours workflow-level `concurrency`, and runs each workflow's scheduler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from conveyor.workflow.plan.jobs import workflow_concurrency
from conveyor.workflow.run.job import WorkflowCall
from conveyor.workflow.run.results import (
    Result,
    RunResult,
    WorkflowResult,
    run_result,
    workflow_result,
)
from conveyor.workflow.run.scheduler import Scheduler
from conveyor.workflow.run.scope import JobControl
from conveyor.workflow.run.selection import Selected
from conveyor.workflow.run.session import Session


async def run_all(session: Session, selected: Sequence[Selected]) -> RunResult:
    options = session.options
    options.run_dir.mkdir(parents=True, exist_ok=True)
    session.identity.event_path.write_text(json.dumps(dict(options.event.payload), indent=2))
    outcomes = await asyncio.gather(*(_one(session, s) for s in selected))
    return run_result(outcomes, run_dir=str(options.run_dir), event=options.event.name)


async def _one(session: Session, chosen: Selected) -> WorkflowResult:
    wf = chosen.workflow
    if not chosen.triggered:
        return WorkflowResult(
            path=wf.path, name=wf.display_name, triggered=False, reason=chosen.reason
        )
    event_path = None
    if dict(chosen.payload) != dict(session.options.event.payload):
        # workflow_dispatch defaults, schedule cron: this workflow sees its own payload
        path = session.options.run_dir / f"event-{Path(wf.path).stem}.json"
        path.write_text(json.dumps(dict(chosen.payload), indent=2))
        event_path = str(path)
    call = WorkflowCall(
        workflow=wf,
        inputs=chosen.inputs,
        secrets=session.secrets,
        event_payload=chosen.payload,
        event_path=event_path,
    )
    group = _group(session, chosen)
    scheduler = Scheduler(session, call, only=set(chosen.only) if chosen.only is not None else None)
    if group is not None:
        control = JobControl()
        scheduler.stop = control
        name, cancel_running = group
        got = await session.concurrency.acquire(
            name, cancel_in_progress=cancel_running, cancel=control.cancel
        )
        if not got:
            return WorkflowResult(
                path=wf.path, name=wf.display_name, triggered=True, result=Result.CANCELLED
            )
        try:
            jobs = await scheduler.run()
        finally:
            session.concurrency.release(name)
    else:
        jobs = await scheduler.run()
    return WorkflowResult(
        path=wf.path,
        name=wf.display_name,
        triggered=True,
        reason=chosen.reason,
        result=workflow_result(jobs),
        jobs=tuple(jobs),
    )


def _group(session: Session, chosen: Selected) -> tuple[str, bool] | None:
    name, cancel = workflow_concurrency(
        chosen.workflow,
        session.options.event,
        payload=chosen.payload,
        inputs=chosen.inputs,
        variables=session.options.vars,
    )
    return (name, cancel) if name else None
