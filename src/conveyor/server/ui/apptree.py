"""What the application pages show, shaped from the reconciler's JSON (`applink`): the
resource tree as nested nodes, the list's summary rows, the conditions that need
attention and the app's events. Pure; called by `routes_apps`.

The reconciler keeps no event stream of its own: an app's events are its last
operation (each object's result; routine ones counted) and its sync history, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, kw_only=True)
class Node:
    """One row of the resource tree (`app.resourcetree`) and the rows under it."""

    row: Mapping[str, Any]
    children: list[Node] = field(default_factory=list)


def tree(rows: Iterable[Mapping[str, Any]]) -> list[Node]:
    """Nest the depth-first rows by their `depth` (one pass, no lookups)."""
    roots: list[Node] = []
    path: list[Node] = []
    for row in rows:
        depth = int(row.get("depth", 0))
        node = Node(row=row)
        del path[depth:]
        (path[-1].children if path else roots).append(node)
        path.append(node)
    return roots


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """One line of the application list."""

    name: str
    sync: str
    health: str
    revision: str
    last_sync: float
    attention: int  # conditions that need a look
    message: str


def summary(status: Mapping[str, Any]) -> Summary:
    history = status.get("history") or []
    operation = status.get("operation") or {}
    finished = operation.get("finished") or (history[0].get("finished") if history else 0)
    conditions: list[Mapping[str, Any]] = status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), {})
    return Summary(
        name=str(status.get("name", "")),
        sync=str((status.get("sync") or {}).get("status", "Unknown")),
        health=str((status.get("health") or {}).get("status", "Unknown")),
        revision=str((status.get("sync") or {}).get("revision", "")),
        last_sync=float(finished or 0),
        attention=len(attention(status)),
        message=str(ready.get("message", "")),
    )


def attention(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Conditions that need a look: Ready False, or any other condition True."""
    return [
        c
        for c in status.get("conditions") or []
        if (c.get("type") == "Ready") == (c.get("status") != "True")
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    when: float
    what: str  # Sync, Rollback, Result …
    outcome: str  # a status word for the badge
    object: str
    message: str
    by: str = ""


#: Per-object results that are routine: one event counts them instead of a row each.
ROUTINE = frozenset({"Synced", "Unchanged", "HookSucceeded", "Pruned"})


def events(status: Mapping[str, Any]) -> list[Event]:
    """The last operation (routine object results counted in one event, the others one
    event each) and the sync history, newest first."""
    found: list[Event] = []
    operation = status.get("operation") or {}
    when = float(operation.get("finished") or operation.get("started") or 0)
    results = operation.get("results") or []
    routine: dict[str, int] = {}
    for result in results:
        code = str(result.get("code", ""))
        if code in ROUTINE:
            routine[code] = routine.get(code, 0) + 1
            continue
        what = f"{result.get('phase', 'Sync')} wave {result.get('wave', 0)}"
        found.append(
            Event(
                when=when,
                what=what,
                outcome=code,
                object=str(result.get("object", "")),
                message=str(result.get("message", "")),
            )
        )
    for code, count in sorted(routine.items()):
        noun = "object" if count == 1 else "objects"
        found.append(
            Event(when=when, what="Sync", outcome=code, object="", message=f"{count} {noun}")
        )
    for entry in status.get("history") or []:
        found.append(
            Event(
                when=float(entry.get("finished") or 0),
                what="Sync",
                outcome=str(entry.get("result", "")),
                object=str(entry.get("revision", ""))[:12],
                message=str(entry.get("reason", "")),
                by=str(entry.get("initiatedBy", "")),
            )
        )
    return sorted(found, key=lambda e: e.when, reverse=True)


def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many objects the app manages, and how many are OutOfSync / not Healthy."""
    objects = [r for r in rows if r.get("role") == "object"]
    return {
        "objects": len(objects),
        "outOfSync": sum(1 for r in objects if r.get("sync") == "OutOfSync"),
        "unhealthy": sum(1 for r in objects if r.get("health") not in ("", "Healthy")),
    }
