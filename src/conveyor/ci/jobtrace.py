"""A runner's side of the delivery trace (issue 17): the job's span and what it contains.

`executor.execute` runs each assignment through `traced`. When the server put a
`traceparent` (the run's span, `ci.tracespans.assignment`) in the assignment, the job is
timed as `job <id>` under it, everything the engine records meanwhile (its steps, image
pushes: `core.tracing.span` in `workflow.run`) is collected instead of exported, and the
spans travel to the server with the job's result (`result["trace"]`), whichever process
the job ran in (inside the server, a job-user child, a remote `conveyor runner`); the
server exports them (`tracespans.job_reported`). Without one, `traced` only awaits the job.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conveyor.core import tracing

_DONE = ("success", "skipped")


async def traced(
    assignment: Mapping[str, Any], job: Callable[[], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Await `job()`; with a trace context, its result carries the job's spans."""
    parent = tracing.parse_traceparent(assignment.get("traceparent"))
    if parent is None:
        return await job()
    ref = tracing.child_of(parent)
    start = time.time()
    with tracing.collect() as spans, tracing.inside(ref):
        result = await job()
        outcome = str(result.get("job", {}).get("result") or result.get("result") or "")
        tracing.record(
            f"job {assignment.get('job_id') or 'run'}",
            ref=ref,
            parent=parent,
            start=start,
            end=time.time(),
            attributes={
                "conveyor.run.id": int(assignment.get("run_id") or 0),
                "conveyor.job": str(assignment.get("job_id") or ""),
                "conveyor.job.result": outcome,
            },
            error="" if outcome in _DONE else outcome,
        )
    return {**result, "trace": [tracing.to_json(s) for s in spans]}
