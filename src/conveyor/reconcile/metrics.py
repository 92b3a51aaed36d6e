"""Reconciler metrics in the Prometheus text exposition format (version 0.0.4).

A small self-contained registry (no client library needed): a histogram of reconcile
durations, counters of syncs by result, drift events and Git fetch errors, and gauges of
each app's health and sync status (one series per possible status, value 1 for the
current one, as Argo CD's `argocd_app_info` allows alerting on). `render()` is what
`/metrics` serves (the server package wires it). Called by `reconcile.reconciler`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from conveyor.reconcile.model import HealthStatus, SyncStatus

Labels = tuple[tuple[str, str], ...]
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _fmt_labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels)
    return "{" + inner + "}"


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass(slots=True)
class Metrics:
    durations: dict[Labels, list[int]] = field(default_factory=dict)
    duration_sums: dict[Labels, float] = field(default_factory=lambda: defaultdict(float))
    syncs: dict[Labels, int] = field(default_factory=lambda: defaultdict(int))
    drift: dict[Labels, int] = field(default_factory=lambda: defaultdict(int))
    fetch_errors: dict[Labels, int] = field(default_factory=lambda: defaultdict(int))
    health: dict[str, HealthStatus] = field(default_factory=dict)
    sync_status: dict[str, SyncStatus] = field(default_factory=dict)

    def observe_reconcile(self, app: str, seconds: float) -> None:
        key: Labels = (("app", app),)
        counts = self.durations.setdefault(key, [0] * (len(BUCKETS) + 1))
        for index, bound in enumerate((*BUCKETS, math.inf)):
            if seconds <= bound:
                counts[index] += 1
        self.duration_sums[key] += seconds

    def count_sync(self, app: str, result: str) -> None:
        self.syncs[(("app", app), ("result", result))] += 1

    def count_drift(self, app: str) -> None:
        self.drift[(("app", app),)] += 1

    def count_fetch_error(self, repo: str) -> None:
        self.fetch_errors[(("repo", repo),)] += 1

    def set_app(self, app: str, health: HealthStatus, sync: SyncStatus) -> None:
        self.health[app] = health
        self.sync_status[app] = sync

    def forget(self, app: str) -> None:
        self.health.pop(app, None)
        self.sync_status.pop(app, None)

    def render(self) -> str:
        lines: list[str] = []
        self._histogram(lines)
        self._counter(lines, "conveyor_app_syncs_total", "Sync operations by result.", self.syncs)
        self._counter(
            lines,
            "conveyor_app_drift_events_total",
            "Times an app's live state drifted from its synced desired state.",
            self.drift,
        )
        self._counter(
            lines,
            "conveyor_git_fetch_errors_total",
            "Failed Git fetches by repo.",
            self.fetch_errors,
        )
        self._gauge(
            lines,
            "conveyor_app_health_status",
            "1 for the app's current health.",
            {a: str(s) for a, s in self.health.items()},
            [str(s) for s in HealthStatus],
        )
        self._gauge(
            lines,
            "conveyor_app_sync_status",
            "1 for the app's current sync status.",
            {a: str(s) for a, s in self.sync_status.items()},
            [str(s) for s in SyncStatus],
        )
        return "\n".join(lines) + "\n"

    def _histogram(self, lines: list[str]) -> None:
        name = "conveyor_reconcile_duration_seconds"
        lines += [f"# HELP {name} Duration of one app reconciliation.", f"# TYPE {name} histogram"]
        for labels, counts in sorted(self.durations.items()):
            for bound, count in zip((*BUCKETS, math.inf), counts, strict=True):
                le = (*labels, ("le", _num(bound)))
                lines.append(f"{name}_bucket{_fmt_labels(le)} {count}")
            lines.append(f"{name}_sum{_fmt_labels(labels)} {_num(self.duration_sums[labels])}")
            lines.append(f"{name}_count{_fmt_labels(labels)} {counts[-1]}")

    @staticmethod
    def _counter(lines: list[str], name: str, help_text: str, values: dict[Labels, int]) -> None:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
        lines += [f"{name}{_fmt_labels(k)} {v}" for k, v in sorted(values.items())]

    @staticmethod
    def _gauge(
        lines: list[str], name: str, help_text: str, current: dict[str, str], statuses: list[str]
    ) -> None:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for app in sorted(current):
            for status in statuses:
                value = 1 if current[app] == status else 0
                lines.append(f'{name}{{app="{escape_label(app)}",status="{status}"}} {value}')
