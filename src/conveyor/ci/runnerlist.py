"""The runners list as the API shows it (issue 18): each runner with `status` online or
offline and `last_heartbeat`, as GitHub lists self-hosted runners.

Called by the server's `GET /api/v1/runners`. A runner is alive while it polls
(`ci_runners.last_seen`) or, busy with a job, while it beats for it (its units' heartbeat);
it is offline once neither happened within the heartbeat timeout, the same clock that fails
its jobs (`ci.recovery`). Ephemeral runners leave the list after their job (`ci.runnerapi`).
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from conveyor.store.ci_store import CIStore


class RunnerStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


def runner_list(
    store: CIStore, *, timeout: float, now: float | None = None
) -> list[dict[str, Any]]:
    """Every listed runner, least recently alive first, with `status` and `last_heartbeat`
    (epoch s: the later of its last poll and its jobs' last heartbeat)."""
    now = time.time() if now is None else now
    beats = store.access.runner_beats()
    out = []
    for row in store.access.runners():
        last = max(float(row["last_seen"] or 0), beats.get(str(row["name"]), 0.0))
        alive = now - last <= timeout
        status = RunnerStatus.ONLINE if alive else RunnerStatus.OFFLINE
        out.append({**row, "last_heartbeat": last, "status": str(status)})
    return sorted(out, key=lambda r: (r["last_heartbeat"], r["name"]))
