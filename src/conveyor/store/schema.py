"""Table definitions (SQLAlchemy Core). Changes go through a new migration step."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_version = Table(
    "conveyor_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

apps = Table(
    "reconcile_apps",
    metadata,
    Column("name", String(253), primary_key=True),
    Column("status", Text, nullable=False, default="{}"),
    Column("paused", Integer, nullable=False, default=0),
    Column("pause_reason", Text, nullable=False, default=""),
    Column("updated", Float, nullable=False, default=0.0),
)

inventory = Table(
    "reconcile_inventory",
    metadata,
    Column("app", String(253), nullable=False),
    Column("ref", String(1024), nullable=False),
    PrimaryKeyConstraint("app", "ref"),
)

operations = Table(
    "reconcile_operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(253), nullable=False, index=True),
    Column("revision", String(64), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Column("initiated_by", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("source_path", Text, nullable=False, default=""),
    Column("planned", Text, nullable=False, default="[]"),
    Column("results", Text, nullable=False, default="[]"),
)

history = Table(
    "reconcile_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(253), nullable=False, index=True),
    Column("revision", String(64), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("started", Float, nullable=False),
    Column("finished", Float, nullable=False),
    Column("result", String(32), nullable=False),
    Column("initiated_by", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("source_path", Text, nullable=False, default=""),
)

settings = Table(
    "conveyor_settings",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Apps whose objects must be deleted with them (a deletion finalizer) or that have
#: PostDelete hooks: armed while defined, then the progress of their deletion (issue 14).
deletions = Table(
    "reconcile_deletions",
    metadata,
    Column("app", String(253), primary_key=True),
    Column("target", String(253), nullable=False),
    Column("state", String(32), nullable=False),
    Column("cascade", Integer, nullable=False, default=0),
    Column("policy", String(32), nullable=False, default=""),
    Column("revision", String(64), nullable=False, default=""),
    Column("hooks", Text, nullable=False, default="[]"),
    Column("message", Text, nullable=False, default=""),
    Column("requested", Float, nullable=False, default=0.0),
)
