"""Rows as frozen values: what `Store` returns and accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationRecord:
    """A sync operation: written before the first apply (with every object it may touch,
    so a crash leaves no unrecorded object) and finished with per-object results."""

    id: int = 0
    app: str
    revision: str
    digest: str
    state: str  # Running | Succeeded | Failed | Interrupted
    started: float
    finished: float | None = None
    initiated_by: str = ""
    reason: str = ""
    source_path: str = ""
    planned: tuple[str, ...] = ()
    results: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRecord:
    id: int = 0
    app: str
    revision: str
    digest: str
    started: float
    finished: float
    result: str
    initiated_by: str = ""
    reason: str = ""
    source_path: str = ""
