"""Issue 18 #3: logs and artifacts of concluded runs are kept for the retention period, then
pruned; runs in progress and newer runs keep theirs (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from conveyor.ci.retention import DAY, keep_pruning, prune
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine

NOW = 1_800_000_000.0


def _run(store: CIStore, data: Path, *, finished: float | None) -> int:
    run_id = store.add_run(
        {
            "repo": "acme/app",
            "workflow_path": ".github/workflows/ci.yml",
            "workflow_name": "CI",
            "event": "push",
            "status": "completed" if finished else "in_progress",
            "created": (finished or NOW) - 60,
            "finished": finished,
        }
    )
    store.add_logs(run_id, [("build", f"line of run {run_id}")])
    folder = data / "artifacts" / str(run_id)
    folder.mkdir(parents=True)
    (folder / "dist.tar.gz").write_bytes(b"x" * 1000)
    return run_id


def test_logs_and_artifacts_older_than_the_retention_are_pruned(
    tmp_path: Path, database: str
) -> None:
    store = CIStore(open_engine(database))
    try:
        old = _run(store, tmp_path, finished=NOW - 91 * DAY)
        recent = _run(store, tmp_path, finished=NOW - 89 * DAY)
        running = _run(store, tmp_path, finished=None)
        pruned = prune(store, tmp_path, days=90, now=NOW)
        assert (pruned.log_lines, pruned.artifact_runs) == (1, (old,))
        assert store.logs(old) == []
        assert not (tmp_path / "artifacts" / str(old)).exists()
        for kept in (recent, running):
            assert store.logs(kept) == [("build", f"line of run {kept}")]
            assert (tmp_path / "artifacts" / str(kept) / "dist.tar.gz").exists()
        assert store.run(old) is not None  # the run itself stays listed, as on GitHub
        later = prune(store, tmp_path, days=90, now=NOW + 2 * DAY)
        assert later.artifact_runs == (recent,)
    finally:
        store.close()


def test_the_server_keeps_pruning_on_its_interval_with_the_clock_it_is_given(
    tmp_path: Path, database: str
) -> None:
    store = CIStore(open_engine(database))
    clock = [NOW]
    try:
        run_id = _run(store, tmp_path, finished=NOW - DAY)

        async def go() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(
                keep_pruning(store, tmp_path, stop, days=2, every=0.05, clock=lambda: clock[0])
            )
            await asyncio.sleep(0.2)
            assert store.logs(run_id)  # one day old: kept
            clock[0] = NOW + 2 * DAY
            deadline = time.monotonic() + 5
            while store.logs(run_id) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            stop.set()
            await task

        asyncio.run(go())
        assert store.logs(run_id) == []
    finally:
        store.close()
