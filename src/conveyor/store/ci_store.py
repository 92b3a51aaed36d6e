"""`CIStore`: the CI service's runs (a push's runs together with its delivery, once:
`add_delivery_runs`), units (one job of a run as a runner takes it; `claim_unit` is the
atomic queued → in_progress step; each with the environment its job deploys to), cancel
requests, jobs, logs, statuses and deployments (tokens, runner registrations and the audit
log are in `ci_access_store`).

Opened by `conveyor.ci.service.CIService` (one per server process) on the same database URL
as the reconciler's `Store` (SQLite file by default, PostgreSQL by URL). Rows come back as
plain dicts with JSON columns decoded; the service owns every rule. Secrets, variables,
environments and approvals are in `ci_config_store` (same engine, same patterns). Keyed
writes are one `INSERT … ON CONFLICT` each (`dialect.upsert`) and `claim_run` one guarded
UPDATE, so several server processes can share a PostgreSQL database without races.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    delete,
    func,
    insert,
    select,
    update,
)

from conveyor.store import ci_logs
from conveyor.store.ci_access_store import CIAccessStore
from conveyor.store.ci_config_store import CIConfigStore
from conveyor.store.ci_filters import RunFilter, filtered
from conveyor.store.ci_logs import LogLine, LogWindow
from conveyor.store.ci_migrations import run_facts
from conveyor.store.ci_schema import (
    approvals,
    jobs,
    push_deliveries,
    run_cancels,
    runs,
    statuses,
    unit_environments,
    unit_stops,
    units,
)
from conveyor.store.ci_tables import CITables, Row, decode, encode, open_engine
from conveyor.store.dialect import clean_text, insert_missing, lock, upsert
from conveyor.store.notify_store import DeliveryStore


class CIStore(CITables):
    """Persistence of runs and their parts; every method is one transaction.

    Tokens, runners and audit rows are `self.access` (`CIAccessStore`); secrets, variables,
    environments, approvals and deployments are `self.config` (`CIConfigStore`). All three
    share this store's engine, so one `close` closes them."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.access = CIAccessStore(engine)
        self.config = CIConfigStore(engine)
        self.deliveries = DeliveryStore(engine)  # notifications sent (issue 17)

    @classmethod
    def open(cls, location: str | Path) -> CIStore:
        return cls(open_engine(location))

    def close(self) -> None:
        self.engine.dispose()

    # -- runs ---------------------------------------------------------------------------

    def add_run(self, values: Mapping[str, Any]) -> int:
        """A new run; its number (unless given) is counted inside the INSERT, under a per-repo
        lock on PostgreSQL, so concurrent pushes never share one."""
        with self.tx() as conn:
            return _insert_run(conn, values)

    def add_delivery_runs(
        self, delivery: Mapping[str, Any], values: Sequence[Mapping[str, Any]]
    ) -> list[int] | None:
        """Record a push's ref update (`ci_push_deliveries`) and add its runs, in one
        transaction; None, adding nothing, when that delivery was recorded before."""
        with self.tx() as conn:
            row = {**encode(delivery), "recorded": time.time()}
            if not insert_missing(conn, push_deliveries, row, keys=("delivery",)):
                return None
            return [_insert_run(conn, one) for one in values]

    def delivery(self, delivery: str) -> Row | None:
        with self.tx() as conn:
            query = select(push_deliveries).where(push_deliveries.c.delivery == delivery)
            row = conn.execute(query).first()
        return decode(row) if row else None

    def pushed_at(self, repo: str, sha: str) -> float | None:
        """When the server first received a push that moved a ref of `repo` to `sha`."""
        found = push_deliveries.c
        query = select(func.min(found.received)).where(found.repo == repo, found.after == sha)
        with self.tx() as conn:
            value = conn.execute(query).scalar()
        return float(value) if value is not None else None

    def run(self, run_id: int) -> Row | None:
        with self.tx() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return decode(row) if row else None

    def runs(
        self,
        *,
        repo: str | None = None,
        status: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
        where: RunFilter | None = None,
    ) -> list[Row]:
        """Runs newest first: `limit` of them after skipping `offset`, of `repo`, with a
        status in `status` and matching `where` (issue 18: the API's filters)."""
        query = filtered(select(runs), repo, status, where)
        query = query.order_by(runs.c.id.desc()).limit(limit).offset(offset)
        with self.tx() as conn:
            return [decode(r) for r in conn.execute(query).all()]

    def count_runs(
        self,
        *,
        repo: str | None = None,
        status: Sequence[str] = (),
        where: RunFilter | None = None,
    ) -> int:
        query = filtered(select(func.count()).select_from(runs), repo, status, where)
        with self.tx() as conn:
            return int(conn.scalar(query) or 0)

    def update_run(self, run_id: int, **values: Any) -> None:
        with self.tx() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**encode(values)))

    def claim_run(self, run_id: int, *, runner: str, now: float) -> bool:
        """Queued → in_progress for `runner`; False when someone else got it first."""
        with self.tx() as conn:
            done = conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == "queued")
                .values(status="in_progress", runner=runner, started=now, heartbeat=now)
            )
            return done.rowcount == 1

    # -- units (one job of a run, as a runner takes it) ----------------------------------

    def add_unit(self, values: Mapping[str, Any]) -> int:
        """A new unit; `environment` (the one its job deploys to) goes to its own table."""
        row = {k: v for k, v in values.items() if k != "environment"}
        with self.tx() as conn:
            done = conn.execute(insert(units).values(**encode({"created": time.time(), **row})))
            unit_id = int(done.inserted_primary_key[0])  # type: ignore[index]
            if values.get("environment"):
                conn.execute(
                    insert(unit_environments).values(
                        unit_id=unit_id,
                        run_id=values["run_id"],
                        environment=clean_text(str(values["environment"])),
                    )
                )
            return unit_id

    def unit(self, unit_id: int) -> Row | None:
        with self.tx() as conn:
            row = conn.execute(_units_query().where(units.c.id == unit_id)).first()
        return _unit(row) if row else None

    def units(self, *, run_id: int | None = None, status: Sequence[str] = ()) -> list[Row]:
        """Units oldest first, of one run or of every run (with their `environment`, "" when
        none)."""
        query = _units_query().order_by(units.c.id)
        if run_id is not None:
            query = query.where(units.c.run_id == run_id)
        if status:
            query = query.where(units.c.status.in_(list(status)))
        with self.tx() as conn:
            return [_unit(r) for r in conn.execute(query).all()]

    def update_unit(self, unit_id: int, *, only_from: Sequence[str] = (), **values: Any) -> bool:
        """Update a unit; with `only_from`, only while its status is one of those."""
        query = update(units).where(units.c.id == unit_id)
        if only_from:
            query = query.where(units.c.status.in_(list(only_from)))
        with self.tx() as conn:
            return conn.execute(query.values(**encode(values))).rowcount == 1

    def claim_unit(self, unit_id: int, *, runner: str, now: float) -> bool:
        """Queued → in_progress for `runner`; False when someone else got it first."""
        return self.update_unit(
            unit_id,
            only_from=("queued",),
            status="in_progress",
            runner=runner,
            started=now,
            heartbeat=now,
        )

    # -- reviews (approvals are read and decided in ci_config_store) ---------------------

    def reopen_approval(self, run_id: int, environment: str, *, state: str) -> bool:
        """A decided approval asked again for a later job of the run (GitHub reviews every
        job that deploys): `state` (pending, or approved when only a wait timer applies),
        requested now; False when there is none or it is pending."""
        where = (
            (approvals.c.run_id == run_id)
            & (approvals.c.environment == environment)
            & (approvals.c.state != "pending")
        )
        values = {
            "state": state,
            "requested": time.time(),
            "decided": None,
            "decided_by": "",
            "comment": "",
        }
        with self.tx() as conn:
            return conn.execute(update(approvals).where(where).values(**values)).rowcount == 1

    # -- cancellation -------------------------------------------------------------------

    def request_cancel(self, run_id: int, *, reason: str) -> bool:
        """Record that the run is being cancelled; False when it already was."""
        row = {"run_id": run_id, "reason": clean_text(reason), "requested": time.time()}
        with self.tx() as conn:
            return insert_missing(conn, run_cancels, row, keys=["run_id"])

    def cancel_request(self, run_id: int) -> Row | None:
        """The run's cancel request (`reason`, `requested`), or None."""
        with self.tx() as conn:
            row = conn.execute(select(run_cancels).where(run_cancels.c.run_id == run_id)).first()
        return dict(row._mapping) if row else None

    def request_stop(self, unit_id: int, *, run_id: int, reason: str) -> bool:
        """Record that a running unit is cancelled alone; False when it already was."""
        row = {
            "unit_id": unit_id,
            "run_id": run_id,
            "reason": clean_text(reason),
            "requested": time.time(),
        }
        with self.tx() as conn:
            return insert_missing(conn, unit_stops, row, keys=["unit_id"])

    def stop_request(self, unit_id: int) -> Row | None:
        """The unit's own cancel request (`reason`, `requested`), or None."""
        with self.tx() as conn:
            row = conn.execute(select(unit_stops).where(unit_stops.c.unit_id == unit_id)).first()
        return dict(row._mapping) if row else None

    # -- jobs and logs ------------------------------------------------------------------

    def delete_job(self, run_id: int, name: str, *, status: str) -> None:
        """Remove a job row while it has `status` (a placeholder the runner replaces)."""
        where = (jobs.c.run_id == run_id) & (jobs.c.name == name) & (jobs.c.status == status)
        with self.tx() as conn:
            conn.execute(delete(jobs).where(where))

    def upsert_job(self, run_id: int, name: str, **values: Any) -> None:
        with self.tx() as conn:
            where = (jobs.c.run_id == run_id) & (jobs.c.name == name)
            found = conn.execute(select(jobs.c.id).where(where)).first()
            values = encode({**values, "updated": time.time()})
            if found is None:
                conn.execute(insert(jobs).values(run_id=run_id, name=name, **values))
            else:
                conn.execute(update(jobs).where(where).values(**values))

    def jobs(self, run_id: int) -> list[Row]:
        with self.tx() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.run_id == run_id).order_by(jobs.c.id))
            return [decode(r) for r in rows.all()]

    def add_logs(self, run_id: int, lines: Sequence[tuple[str, str]]) -> None:
        """Append lines (job, text), numbered in the run and in their job (`ci_logs`)."""
        if not lines:
            return
        with self.tx() as conn:
            ci_logs.append(conn, run_id, lines)

    def logs(self, run_id: int, *, job: str | None = None) -> list[tuple[str, str]]:
        """Every line of the run (or of one job), in order."""
        return [(x.job, x.text) for x in self.log_lines(run_id, LogWindow(job=job))]

    def log_lines(self, run_id: int, window: LogWindow) -> list[LogLine]:
        """The lines in `window` (a range or a tail), read through an index: the cost is
        what comes back, not the log's length."""
        with self.tx() as conn:
            return ci_logs.read(conn, run_id, window)

    def log_count(self, run_id: int) -> int:
        with self.tx() as conn:
            return ci_logs.count(conn, run_id)

    def finished_before(self, before: float) -> list[int]:
        """The runs that completed before `before` (seconds since the epoch), oldest first."""
        query = (
            select(runs.c.id)
            .where(runs.c.status == "completed", runs.c.finished < before)
            .order_by(runs.c.id)
        )
        with self.tx() as conn:
            return [int(r.id) for r in conn.execute(query).all()]

    def prune_logs(self, before: float) -> int:
        """Delete the log lines of runs that completed before `before`; how many went."""
        old = select(runs.c.id).where(runs.c.status == "completed", runs.c.finished < before)
        with self.tx() as conn:
            return ci_logs.prune(conn, old)

    # -- commit statuses ----------------------------------------------------------------

    def set_status(self, repo: str, sha: str, context: str, **values: Any) -> None:
        """Replace the status of (repo, sha, context); unnamed columns reset to empty."""
        row = {"description": "", "target_url": "", "environment": "", **encode(values)}
        row |= {"repo": repo, "sha": sha, "context": context, "updated": time.time()}
        with self.tx() as conn:
            upsert(conn, statuses, row, keys=["repo", "sha", "context"])

    def statuses(self, repo: str, sha: str) -> list[Row]:
        """Oldest write first. The SHA prefix matches case-insensitively on both dialects
        (SQLite's LIKE ignores ASCII case, PostgreSQL's does not; SHAs are lower-case)."""
        prefix = statuses.c.sha.startswith(sha.lower(), autoescape=True)
        query = select(statuses).where(statuses.c.repo == repo, prefix)
        query = query.order_by(statuses.c.updated, statuses.c.id)
        with self.tx() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]


def _units_query() -> Select[Any]:
    joined = units.outerjoin(unit_environments, unit_environments.c.unit_id == units.c.id)
    return select(units, unit_environments.c.environment).select_from(joined)


def _unit(row: Any) -> Row:
    out = decode(row)
    out["environment"] = out.get("environment") or ""
    return out


def _insert_run(conn: Connection, values: Mapping[str, Any]) -> int:
    lock(conn, f"ci_runs:{values['repo']}")
    number = values.get("run_number") or (
        select(func.count() + 1)
        .select_from(runs)
        .where(runs.c.repo == values["repo"], runs.c.rerun_of.is_(None))
        .scalar_subquery()
    )
    facts = run_facts(values.get("payload") or {}, str(values.get("ref") or ""))
    row = {**encode({**facts, **values}), "run_number": number}
    done = conn.execute(insert(runs).values(**row))
    return int(done.inserted_primary_key[0])  # type: ignore[index]
