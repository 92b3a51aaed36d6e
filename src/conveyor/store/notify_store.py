"""`DeliveryStore`: every notification delivery and its attempts (issue 17), one row per
(notice, destination), keyed by the notice's de-duplication digest so the same event is
delivered once even across restarts.

The table lives in both databases that notify: the reconciler's (`migrations` step 3) and
the CI server's (`ci_schema.create_ci_tables`); when both processes share one file they
share the table. Rows hold no secret: the destination by name, the last error already
masked by the sender. Reached as `Store.deliveries` and `CIStore.deliveries`; written by
`notify.notifier`, read by the UI's notifications page and `conveyor notifications`.
Each attempt also gets its own `notify_attempts` row (number, outcome, status, error, time);
the delivery row keeps the count and the last one for lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)

from conveyor.store.dialect import clean_text, insert_missing

_meta = MetaData()
deliveries = Table(
    "notify_deliveries",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),  # de-duplication digest
    Column("trigger", String(32), nullable=False),
    Column("subject", String(8), nullable=False),  # app | run
    Column("name", String(253), nullable=False),
    Column("revision", String(64), nullable=False, default=""),
    Column("destination", String(253), nullable=False),
    Column("kind", String(16), nullable=False),  # webhook | slack | teams | email | github
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("status", Integer, nullable=False, default=0),  # last HTTP status / SMTP code
    Column("error", Text, nullable=False, default=""),
    Column("message", Text, nullable=False, default=""),  # the notice's message
    Column("created", Float, nullable=False, index=True),
    Column("updated", Float, nullable=False),
)


attempt_rows = Table(
    "notify_attempts",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery", Integer, nullable=False, index=True),  # notify_deliveries.id
    Column("number", Integer, nullable=False),  # 1, 2, … within the delivery
    Column("outcome", String(16), nullable=False),  # the delivery's state after it
    Column("status", Integer, nullable=False, default=0),
    Column("error", Text, nullable=False, default=""),
    Column("at", Float, nullable=False),
)


class DeliveryState(StrEnum):
    PENDING = "pending"  # claimed, being delivered (or waiting for its next attempt)
    DELIVERED = "delivered"
    FAILED = "failed"  # out of attempts, or an error a retry cannot fix
    RATE_LIMITED = "rate-limited"  # over the destination's rate limit: not sent
    INVALID = "invalid"  # nothing to send to (an app's annotation names no destination …)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    id: int
    trigger: str
    subject: str
    name: str
    revision: str
    destination: str
    kind: str
    state: DeliveryState
    attempts: int
    status: int
    error: str
    message: str
    created: float
    updated: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptRecord:
    number: int
    outcome: DeliveryState
    status: int
    error: str
    at: float


def create_delivery_table(conn: Connection) -> None:
    """Both tables (deliveries and their attempts), where missing."""
    deliveries.create(conn, checkfirst=True)
    attempt_rows.create(conn, checkfirst=True)


class DeliveryStore:
    """Rows of `notify_deliveries`; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, *, key: str, now: float, **values: Any) -> int | None:
        """A new delivery for `key` (state pending), or None when one exists already."""
        row = {
            **values,
            "key": key,
            "state": values.get("state", DeliveryState.PENDING),
            "created": now,
            "updated": now,
        }
        row["message"] = clean_text(str(row.get("message", "")))[:4000]
        with self._engine.begin() as conn:
            if not insert_missing(conn, deliveries, row, keys=["key"]):
                return None
            found = conn.execute(select(deliveries.c.id).where(deliveries.c.key == key))
            return int(found.scalar_one())

    def attempted(
        self, delivery: int, *, state: DeliveryState, status: int, error: str, now: float
    ) -> None:
        """One more attempt, with its outcome: its own row, and the delivery's summary."""
        text = clean_text(error)[:2000]
        with self._engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery)
                .values(
                    attempts=deliveries.c.attempts + 1,
                    state=state,
                    status=status,
                    error=text,
                    updated=now,
                )
            )
            number = conn.execute(
                select(deliveries.c.attempts).where(deliveries.c.id == delivery)
            ).scalar_one()
            conn.execute(
                attempt_rows.insert().values(
                    delivery=delivery,
                    number=number,
                    outcome=state,
                    status=status,
                    error=text,
                    at=now,
                )
            )

    def attempts(self, delivery: int) -> list[AttemptRecord]:
        """The attempts of one delivery, first first."""
        rows = attempt_rows.c
        query = select(attempt_rows).where(rows.delivery == delivery).order_by(rows.number)
        with self._engine.connect() as conn:
            return [
                AttemptRecord(
                    number=r.number,
                    outcome=DeliveryState(r.outcome),
                    status=r.status,
                    error=r.error,
                    at=r.at,
                )
                for r in conn.execute(query)
            ]

    def finish(self, delivery: int, *, state: DeliveryState, error: str, now: float) -> None:
        """End a delivery without an attempt (rate-limited, template error …)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery)
                .values(state=state, error=clean_text(error)[:2000], updated=now)
            )

    def recent(self, limit: int = 100) -> list[DeliveryRecord]:
        """The newest deliveries first."""
        query = select(deliveries).order_by(deliveries.c.created.desc(), deliveries.c.id.desc())
        with self._engine.connect() as conn:
            rows = conn.execute(query.limit(limit))
            return [_record(row._mapping) for row in rows]


def _record(row: Any) -> DeliveryRecord:
    return DeliveryRecord(
        id=row["id"],
        trigger=row["trigger"],
        subject=row["subject"],
        name=row["name"],
        revision=row["revision"],
        destination=row["destination"],
        kind=row["kind"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        status=row["status"],
        error=row["error"],
        message=row["message"],
        created=row["created"],
        updated=row["updated"],
    )
