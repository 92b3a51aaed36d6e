"""The CI server's `/metrics` in the Prometheus text format (version 0.0.4).

Served by `server.app` (read role). The families, which `deploy/observability`'s alert rules
and Grafana dashboard use (a test checks every name they use against this output):

* `conveyor_runs{status}`: runs in the store by status (a COUNT per status, never every run
  loaded);
* `conveyor_events_total{kind}`: events handled since start: `pushes`, `runs_created` and
  `runs_<conclusion>` (`runs_failure`, `runs_success`, …) as each run concludes;
* `conveyor_pending_approvals`: deployment reviews waiting;
* `conveyor_pending_approval_age_seconds{environment}`: how long the oldest review waiting
  for each environment has waited.
"""

from __future__ import annotations

import time

from conveyor.ci.model import ApprovalState
from conveyor.reconcile.metrics import escape_label
from conveyor.server.state import ServerState

STATUSES = ("pending", "queued", "waiting", "in_progress", "completed")


def render_metrics(state: ServerState, *, now: float | None = None) -> str:
    """The exposition text for `state`'s store and counters at `now` (default: the clock)."""
    service = state.service
    lines = family("conveyor_runs", "gauge", "Runs in the store by status.")
    for status in STATUSES:
        count = service.store.count_runs(status=(status,))
        lines.append(f'conveyor_runs{{status="{status}"}} {count}')
    lines += family("conveyor_events_total", "counter", "Events handled since start.")
    for name, value in sorted(service.counters.items()):
        lines.append(f'conveyor_events_total{{kind="{name}"}} {value}')
    pending = service.store.config.approvals(state=ApprovalState.PENDING)
    lines += family("conveyor_pending_approvals", "gauge", "Deployment reviews waiting.")
    lines.append(f"conveyor_pending_approvals {len(pending)}")
    lines += family(
        "conveyor_pending_approval_age_seconds",
        "gauge",
        "Seconds the oldest review waiting for each environment has waited.",
    )
    oldest: dict[str, float] = {}
    for row in pending:
        env = str(row["environment"])
        oldest[env] = min(oldest.get(env, row["requested"]), row["requested"])
    clock = time.time() if now is None else now
    for env, since in sorted(oldest.items()):
        label = escape_label(env)
        age = max(0.0, clock - since)
        lines.append(f'conveyor_pending_approval_age_seconds{{environment="{label}"}} {age:.3f}')
    return "\n".join(lines) + "\n"


def family(name: str, kind: str, help_text: str) -> list[str]:
    """The HELP and TYPE lines that open a metric family."""
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
