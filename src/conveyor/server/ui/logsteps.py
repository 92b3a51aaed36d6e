"""A job's steps for its page: name, conclusion, duration and the log line where each
starts (issue 15).

Called by `routes_logs`. The job's row (`ci_jobs.steps`, reported by the runner when the
job ends) says which steps ran and how they concluded; the engine's step markers in the log
(`⭐ name` when a step starts, `✅ Success - name [1.2s]` when it ends: `workflow.run.console`)
say where each starts and how long it took, and are all there is while the job runs. One
filtered read (`LogWindow.starts`) finds the markers, whatever the log's length.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.server.ui.ansi import plain
from conveyor.store.ci_logs import LogLine

STEP_START = "⭐ "
STEP_ENDS = ("✅ ", "❌ ", "🚫 ", "⏭️ ", "• ")
MARKERS = (STEP_START, *STEP_ENDS)
_END = re.compile(r"^\S+ (?P<label>\w+) - (?P<name>.*) \[(?P<took>[0-9hms.]+)\]$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class StepView:
    """One step as the page shows it; `line` is 0 when the log has no marker for it."""

    name: str
    conclusion: str  # success, failure, cancelled, skipped, in_progress, or "" (unknown)
    duration: float | None = None
    line: int = 0


def seconds(took: str) -> float | None:
    """`850ms`, `12.3s`, `2m05s`, `1h02m` (`console.format_duration`) in seconds."""
    parts = _PART.findall(took)
    if not parts or "".join(n + u for n, u in parts) != took:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def from_markers(markers: Sequence[LogLine], running: bool) -> list[StepView]:
    """The steps the markers tell of, in order; the last started one without an end marker
    is in progress while the job runs."""
    steps: list[StepView] = []
    for line in markers:
        text = plain(line.text)
        if text.startswith(STEP_START):
            steps.append(StepView(name=text[len(STEP_START) :], conclusion="", line=line.number))
            continue
        end = _END.match(text)
        if end is None or not steps or steps[-1].conclusion:
            continue
        last = steps[-1]
        steps[-1] = StepView(
            name=last.name,
            conclusion=end["label"].lower(),
            duration=seconds(end["took"]),
            line=last.line,
        )
    if running and steps and not steps[-1].conclusion:
        last = steps[-1]
        steps[-1] = StepView(name=last.name, conclusion="in_progress", line=last.line)
    return steps


def merged(reported: Sequence[Mapping[str, Any]], markers: list[StepView]) -> list[StepView]:
    """The reported steps (names, conclusions), each with the duration and line of the first
    unused marker of its name; without a report, the markers alone."""
    if not reported:
        return markers
    unused = list(markers)
    out = []
    for step in reported:
        name = str(step.get("name") or step.get("id") or "")
        found = next((m for m in unused if m.name == name), None)
        if found is not None:
            unused.remove(found)
        out.append(
            StepView(
                name=name,
                conclusion=str(step.get("conclusion") or ""),
                duration=found.duration if found else None,
                line=found.line if found else 0,
            )
        )
    return out
