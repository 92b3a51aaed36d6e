"""How long the server keeps the logs and artifacts of concluded runs (issue 18 #3).

GitHub keeps a run's logs and artifacts for 90 days by default (configurable); the run itself
stays listed. `prune` deletes the log lines and artifact archives of the runs that completed
more than `days` ago; `keep_pruning` runs it at start and then every `every` seconds, started
by the server (`conveyor.server.main`) with the service's store, its data directory and
`ServiceConfig.retention_days`. The clock is injected (tests move it forward).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conveyor.ci.workspaces import remove
from conveyor.store.ci_store import CIStore

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90.0
DAY = 86400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Pruned:
    log_lines: int
    artifact_runs: tuple[int, ...]


def prune(store: CIStore, data_dir: Path, *, days: float, now: float) -> Pruned:
    """Delete the logs and artifacts of runs that completed before `now - days`."""
    before = now - days * DAY
    lines = store.prune_logs(before)
    folder = data_dir / "artifacts"
    expired = set(store.finished_before(before)) if folder.is_dir() else set()
    gone = tuple(
        sorted(
            int(entry.name)
            for entry in folder.iterdir()
            if entry.name.isdigit() and int(entry.name) in expired
        )
        if folder.is_dir()
        else ()
    )
    for run_id in gone:
        remove(folder / str(run_id))
    if lines or gone:
        log.info(
            "retention (%g days): deleted %d log lines and the artifacts of %d runs",
            days,
            lines,
            len(gone),
        )
    return Pruned(log_lines=lines, artifact_runs=gone)


async def keep_pruning(
    store: CIStore,
    data_dir: Path,
    stop: asyncio.Event,
    *,
    days: float,
    every: float = 3600.0,
    clock: Callable[[], float] = time.time,
) -> None:
    """`prune` now and every `every` seconds until `stop`; a failing pass is logged and
    tried again at the next one."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(prune, store, data_dir, days=days, now=clock())
        except Exception:
            log.exception("pruning logs and artifacts failed; trying again in %g s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
