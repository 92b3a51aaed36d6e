"""Secrets (ciphertext), variables, environments, approvals and deployments of the CI service.

Used through `CIConfigStore(ci_store.engine)` by `conveyor.ci.secrets` and
`conveyor.ci.environments`. A scope is a string: `org:<owner>`, `repo:<owner>/<name>` or
`env:<owner>/<name>:<environment>`. Secret values only ever pass here as ciphertext.
Keyed writes are one `INSERT … ON CONFLICT` statement each (`dialect.upsert`), atomic on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update

from conveyor.store.ci_schema import (
    approvals,
    deliveries,
    deployments,
    environments,
    secrets,
    variables,
)
from conveyor.store.ci_tables import CITables, Row
from conveyor.store.dialect import clean_text, insert_missing, upsert


class CIConfigStore(CITables):
    """Configuration and approval records; shares the CI engine."""

    # -- secrets and variables ----------------------------------------------------------

    def put_secret(self, scope: str, name: str, ciphertext: bytes) -> None:
        row = {"scope": scope, "name": name, "ciphertext": ciphertext, "updated": time.time()}
        with self.tx() as conn:
            upsert(conn, secrets, row, keys=["scope", "name"])

    def delete_secret(self, scope: str, name: str) -> bool:
        with self.tx() as conn:
            where = (secrets.c.scope == scope) & (secrets.c.name == name)
            return conn.execute(delete(secrets).where(where)).rowcount == 1

    def secret_names(self, scope: str) -> list[Row]:
        query = select(secrets.c.name, secrets.c.updated).where(secrets.c.scope == scope)
        with self.tx() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(secrets.c.name))]

    def secret_values(self, scope: str) -> dict[str, bytes]:
        query = select(secrets.c.name, secrets.c.ciphertext).where(secrets.c.scope == scope)
        with self.tx() as conn:
            return {r.name: bytes(r.ciphertext) for r in conn.execute(query)}

    def put_variable(self, scope: str, name: str, value: str) -> None:
        row = {"scope": scope, "name": name, "value": clean_text(value), "updated": time.time()}
        with self.tx() as conn:
            upsert(conn, variables, row, keys=["scope", "name"])

    def delete_variable(self, scope: str, name: str) -> bool:
        with self.tx() as conn:
            where = (variables.c.scope == scope) & (variables.c.name == name)
            return conn.execute(delete(variables).where(where)).rowcount == 1

    def variables(self, scope: str) -> dict[str, str]:
        query = select(variables.c.name, variables.c.value).where(variables.c.scope == scope)
        with self.tx() as conn:
            return {r.name: r.value for r in conn.execute(query)}

    # -- webhook deliveries ---------------------------------------------------------------

    def claim_delivery(self, delivery: str, *, repo: str, event: str) -> Row | None:
        """Take a delivery id: None when it is new (the caller handles it), else the row of
        the earlier delivery with that id (`runs` it started, `done`)."""
        row = {"id": delivery, "repo": repo, "event": event, "received": time.time()}
        with self.tx() as conn:
            if insert_missing(conn, deliveries, row, keys=["id"]):
                return None
            found = conn.execute(select(deliveries).where(deliveries.c.id == delivery)).first()
        if found is None:  # released in between: a later redelivery may try again
            return {"id": delivery, "runs": [], "done": 0}
        return {**found._mapping, "runs": json.loads(found.runs)}

    def finish_delivery(self, delivery: str, runs: Sequence[int]) -> None:
        values = {"runs": json.dumps(list(runs)), "done": 1}
        with self.tx() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery).values(**values))

    def release_delivery(self, delivery: str) -> None:
        """Forget a delivery that failed before it started runs (GitHub may redeliver it)."""
        with self.tx() as conn:
            conn.execute(delete(deliveries).where(deliveries.c.id == delivery))

    # -- environments -------------------------------------------------------------------

    def put_environment(
        self,
        repo: str,
        name: str,
        *,
        reviewers: Sequence[str],
        wait_timer: float,
        branches: Sequence[str],
    ) -> None:
        row = {
            "repo": repo,
            "name": name,
            "reviewers": json.dumps(list(reviewers)),
            "wait_timer": wait_timer,
            "branches": json.dumps(list(branches)),
        }
        with self.tx() as conn:
            upsert(conn, environments, row, keys=["repo", "name"])

    def environment(self, repo: str, name: str) -> Row | None:
        query = select(environments).where(environments.c.repo == repo, environments.c.name == name)
        with self.tx() as conn:
            row = conn.execute(query).first()
        return _env(row) if row else None

    def environments(self, repo: str) -> list[Row]:
        query = select(environments).where(environments.c.repo == repo)
        with self.tx() as conn:
            return [_env(r) for r in conn.execute(query.order_by(environments.c.name))]

    # -- approvals ----------------------------------------------------------------------

    def approval(self, run_id: int, environment: str) -> Row | None:
        query = select(approvals).where(
            approvals.c.run_id == run_id, approvals.c.environment == environment
        )
        with self.tx() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def request_approval(self, run_id: int, environment: str, *, state: str) -> Row:
        """The run's approval for `environment`, created in `state` when there is none yet
        (one statement: concurrent requests share one row)."""
        row = {
            "run_id": run_id,
            "environment": environment,
            "state": state,
            "requested": time.time(),
        }
        with self.tx() as conn:
            insert_missing(conn, approvals, row, keys=["run_id", "environment"])
        got = self.approval(run_id, environment)
        assert got is not None
        return got

    def decide(self, run_id: int, environment: str, *, state: str, by: str, comment: str) -> bool:
        """pending → approved/rejected; False when there was nothing pending."""
        with self.tx() as conn:
            done = conn.execute(
                update(approvals)
                .where(
                    approvals.c.run_id == run_id,
                    approvals.c.environment == environment,
                    approvals.c.state == "pending",
                )
                .values(state=state, decided=time.time(), decided_by=by, comment=comment)
            )
            return done.rowcount == 1

    def approvals(self, *, state: str | None = None, run_id: int | None = None) -> list[Row]:
        query = select(approvals).order_by(approvals.c.id)
        if state is not None:
            query = query.where(approvals.c.state == state)
        if run_id is not None:
            query = query.where(approvals.c.run_id == run_id)
        with self.tx() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- deployments --------------------------------------------------------------------

    def add_deployment(self, values: dict[str, Any]) -> int:
        now = time.time()
        with self.tx() as conn:
            done = conn.execute(insert(deployments).values(created=now, updated=now, **values))
            return int(done.inserted_primary_key[0])  # type: ignore[index]

    def update_deployment(self, deployment_id: int, **values: Any) -> None:
        with self.tx() as conn:
            conn.execute(
                update(deployments)
                .where(deployments.c.id == deployment_id)
                .values(updated=time.time(), **values)
            )

    def deployments(self, repo: str, *, environment: str | None = None) -> list[Row]:
        query = select(deployments).where(deployments.c.repo == repo)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        with self.tx() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(deployments.c.id.desc()))]


def _env(row: Any) -> Row:
    out = dict(row._mapping)
    out["reviewers"] = json.loads(out["reviewers"])
    out["branches"] = json.loads(out["branches"])
    return out
