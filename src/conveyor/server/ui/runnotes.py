"""What a run's jobs wrote for people (issue 15): annotations at their file:line and job
summaries (`GITHUB_STEP_SUMMARY`) rendered through the sanitising `markdown.render`.

Called by `routes_runs` with the run row (its own annotations: an invalid workflow file)
and its job rows (`CIStore.jobs`). Values stay text here; templates escape them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from conveyor.server.ui import markdown

Row = Mapping[str, Any]
LEVELS = ("error", "warning", "notice")


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """One annotation: `job` is "" for the run's own (the workflow file's errors)."""

    job: str
    level: str
    message: str
    title: str
    where: str  # "path/a.py:3:5", "path/a.py:3", "path/a.py" or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    job: str
    html: Markup


def notes(run: Row, rows: Sequence[Row]) -> tuple[Note, ...]:
    """Every annotation of the run, the run's own first, errors before warnings and notices."""
    found = [_note("", a) for a in run.get("annotations") or ()]
    for row in rows:
        found += [_note(str(row["name"]), a) for a in row.get("annotations") or ()]
    return tuple(sorted(found, key=lambda n: LEVELS.index(n.level) if n.level in LEVELS else 3))


def counts(found: Sequence[Note]) -> dict[str, int]:
    """How many errors, warnings and notices (for the section's heading)."""
    return {level: sum(1 for n in found if n.level == level) for level in LEVELS}


def summaries(rows: Sequence[Row]) -> tuple[Summary, ...]:
    """Each job's summary that is not blank, as sanitised HTML."""
    return tuple(
        Summary(job=str(row["name"]), html=markdown.render(str(row["summary"])))
        for row in rows
        if str(row.get("summary") or "").strip()
    )


def _note(job: str, data: Mapping[str, Any]) -> Note:
    return Note(
        job=job,
        level=str(data.get("level") or "notice"),
        message=str(data.get("message") or ""),
        title=str(data.get("title") or ""),
        where=_where(data),
    )


def _where(data: Mapping[str, Any]) -> str:
    file = str(data.get("file") or "")
    if not file:
        return ""
    parts = [file, *(str(data[k]) for k in ("line", "col") if data.get(k) is not None)]
    if data.get("line") is None:
        parts = [file]
    return ":".join(parts)
