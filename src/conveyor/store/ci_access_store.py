"""Who may call the server (issue 12): tokens, runners (registered and seen) and the audit log.

Used by `conveyor.server.auth.Auth` (tokens, runners) and the server's routes (audit). A
token is kept as its SHA-256 digest only. Its name is an identity (reviewers are listed by
token name, runners are their token's name), so a name is taken once: `add_token` raises
`NameTaken` when a token of that name exists, whether from before `ci_token_meta` or not.
Revoking deletes every token of the name (and the runner registered under it). A runner's
registration fixes its labels and its scope (`org:<owner>` or `repo:<owner>/<name>`); its
credential is a `runner` token of the same name, written in the same transaction. Audit
rows carry the actor, the action, the target and a JSON detail; callers never put secret
values in them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from conveyor.store.ci_schema import (
    audit,
    runner_registrations,
    runners,
    token_meta,
    tokens,
    units,
)
from conveyor.store.ci_tables import CITables, Row, decode
from conveyor.store.dialect import clean_text, insert_missing, upsert
from conveyor.store.errors import NameTaken


class CIAccessStore(CITables):
    """Tokens, runner registrations and audit rows; shares the CI engine."""

    # -- tokens -------------------------------------------------------------------------

    def add_token(
        self,
        digest: str,
        *,
        name: str,
        role: str,
        expires: float | None = None,
        created_by: str = "",
    ) -> None:
        """A new token; `NameTaken` when the name is in use."""
        with self.tx() as conn:
            self._add_token(conn, digest, name=name, role=role, expires=expires, by=created_by)

    def _add_token(
        self, conn: Connection, digest: str, *, name: str, role: str, expires: float | None, by: str
    ) -> None:
        name = clean_text(name)
        legacy = conn.execute(select(tokens.c.digest).where(tokens.c.name == name)).first()
        row = {"digest": digest, "name": name, "expires": expires, "created_by": clean_text(by)}
        if legacy is not None or not insert_missing(conn, token_meta, row, keys=["name"]):
            raise NameTaken(f"a token named {name!r} exists; revoke it first or pick another")
        conn.execute(
            insert(tokens).values(digest=digest, name=name, role=role, created=time.time())
        )

    def token(self, digest: str) -> Row | None:
        """The token's name, role, created and expires (None: never)."""
        joined = tokens.outerjoin(token_meta, token_meta.c.digest == tokens.c.digest)
        query = select(tokens, token_meta.c.expires).select_from(joined)
        with self.tx() as conn:
            row = conn.execute(query.where(tokens.c.digest == digest)).first()
        return dict(row._mapping) if row else None

    def tokens(self) -> list[Row]:
        """Name, role, created, expires and created_by of every token (never a digest)."""
        joined = tokens.outerjoin(token_meta, token_meta.c.digest == tokens.c.digest)
        meta = (token_meta.c.expires, token_meta.c.created_by)
        query = select(tokens.c.name, tokens.c.role, tokens.c.created, *meta)
        query = query.select_from(joined).order_by(tokens.c.created, tokens.c.name)
        with self.tx() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    def revoke_token(self, name: str) -> int:
        """Delete the tokens named `name` and the runner registered under it; how many."""
        with self.tx() as conn:
            done = conn.execute(delete(tokens).where(tokens.c.name == name)).rowcount
            conn.execute(delete(token_meta).where(token_meta.c.name == name))
            conn.execute(delete(runner_registrations).where(runner_registrations.c.name == name))
            return int(done)

    # -- runner registrations -----------------------------------------------------------

    def register_runner(
        self, digest: str, *, name: str, labels: Sequence[str], scope: str, created_by: str
    ) -> None:
        """The runner's registration and its `runner` token, together; `NameTaken` when
        the name is in use (by a token or a runner)."""
        row = {
            "name": clean_text(name),
            "labels": json.dumps(list(labels)),
            "scope": clean_text(scope),
            "created": time.time(),
            "created_by": clean_text(created_by),
        }
        with self.tx() as conn:
            self._add_token(conn, digest, name=name, role="runner", expires=None, by=created_by)
            if not insert_missing(conn, runner_registrations, row, keys=["name"]):
                raise NameTaken(f"a runner named {name!r} is registered; remove it first")

    def runner_registration(self, name: str) -> Row | None:
        query = select(runner_registrations).where(runner_registrations.c.name == name)
        with self.tx() as conn:
            row = conn.execute(query).first()
        return _registration(dict(row._mapping)) if row else None

    def runner_registrations(self) -> list[Row]:
        query = select(runner_registrations).order_by(runner_registrations.c.name)
        with self.tx() as conn:
            return [_registration(dict(r._mapping)) for r in conn.execute(query).all()]

    # -- audit --------------------------------------------------------------------------

    def add_audit(
        self, *, actor: str, action: str, target: str, detail: Mapping[str, Any] | None = None
    ) -> None:
        row = {
            "at": time.time(),
            "actor": clean_text(actor),
            "action": action,
            "target": clean_text(target),
            "detail": clean_text(json.dumps(dict(detail or {}), sort_keys=True)),
        }
        with self.tx() as conn:
            conn.execute(insert(audit).values(**row))

    def audit(self, *, after: int = 0, limit: int = 500, offset: int = 0) -> list[Row]:
        """Audit rows oldest first, those with an id above `after` (`limit` from `offset`)."""
        query = select(audit).where(audit.c.id > after).order_by(audit.c.id)
        query = query.limit(limit).offset(offset)
        with self.tx() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query).all()]
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def count_audit(self, *, after: int = 0) -> int:
        query = select(func.count()).select_from(audit).where(audit.c.id > after)
        with self.tx() as conn:
            return int(conn.scalar(query) or 0)

    # -- runners seen (presence, beside their registrations) ---------------------------

    def see_runner(self, name: str, *, labels: Sequence[str], kind: str, ephemeral: bool) -> None:
        row = {
            "name": name,
            "labels": json.dumps(list(labels)),
            "kind": kind,
            "ephemeral": int(ephemeral),
            "last_seen": time.time(),
        }
        with self.tx() as conn:
            upsert(conn, runners, row, keys=["name"])

    def runners(self) -> list[Row]:
        """Least recently seen first (an explicit order: PostgreSQL's scan order is not)."""
        query = select(runners).order_by(runners.c.last_seen, runners.c.name)
        with self.tx() as conn:
            return [decode(r) for r in conn.execute(query).all()]

    def drop_runner(self, name: str, *, ephemeral_only: bool = False) -> bool:
        """Forget a runner (with `ephemeral_only`, only an ephemeral one: after its job);
        False when there was none to forget."""
        query = delete(runners).where(runners.c.name == name)
        if ephemeral_only:
            query = query.where(runners.c.ephemeral == 1)
        with self.tx() as conn:
            return conn.execute(query).rowcount == 1

    def runner_beats(self) -> dict[str, float]:
        """The latest heartbeat of each runner's jobs in progress (a busy runner does not
        poll, so its `last_seen` alone would age)."""
        query = (
            select(units.c.runner, func.max(units.c.heartbeat))
            .where(units.c.status == "in_progress", units.c.runner != "")
            .group_by(units.c.runner)
        )
        with self.tx() as conn:
            return {str(name): float(beat or 0) for name, beat in conn.execute(query)}


def _registration(mapping: Mapping[str, Any]) -> Row:
    out = dict(mapping)
    out["labels"] = json.loads(out["labels"])
    return out
