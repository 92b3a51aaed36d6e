"""Tables of the CI service (issue 8), on their own `MetaData` (`ci_metadata`).

Owned by the CI stream, not the reconciler's migration chain: `create_ci_tables` creates
missing tables at start-up (`CREATE TABLE IF NOT EXISTS`), so the same SQLite file or
PostgreSQL database can hold both. Schema changes add tables rather than columns of
existing ones where they can, so an older data directory migrates by that alone: `ci_units`
(per-job dispatch) was added that way; runs an older server left queued or in progress get
their units when `CIService.recover` finds them without any. `ci_unit_environments` (the
environment a unit deploys to, gated before it is queued), `ci_run_cancels` (a run being
cancelled while its `always()` jobs still run) and `ci_unit_stops` (a running job cancelled
alone, stopped by its runner) came later the same way: a unit without an environment row is
gated by its runner as before, a run or unit without a cancel row is not being cancelled.
Identity (issue 12) came the same way: `ci_token_meta` (a token's unique name and optional
expiry; tokens from before it have none: they never expire, and a new token may not take
their name either), `ci_runner_registrations` (a runner's fixed labels and scope; a
`runner` token without one is refused by the runner protocol) and `ci_audit`.
`ci_deliveries` (webhook delivery ids, so a replayed delivery starts nothing) came the
same way.
Issue 18 needed columns on existing tables (line numbers on `ci_logs`, the `actor` and
`branch` filters on `ci_runs`): those come with a versioned step in `ci_migrations`, which
adds the columns to an older database and fills them in; a new database gets them here.
`ci_push_deliveries` (issue 18) records each ref update of a push once, in the transaction
that adds its runs: a push handed over twice (a spool file left behind by a crash) starts
its runs once.
Structured values are JSON text; secret values are ciphertext only (`conveyor.ci.crypto`
encrypts before they reach this layer).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from conveyor.store.notify_store import create_delivery_table

ci_metadata = MetaData()

#: names users choose (repositories, jobs, environments, runners, status contexts, secret
#: scopes) are unbounded text: PostgreSQL enforces VARCHAR lengths where SQLite does not,
#: and a name that works on one database must work on the other
NAME = Text()

tokens = Table(
    "ci_tokens",
    ci_metadata,
    Column("digest", String(64), primary_key=True),  # sha256 of the token, never the token
    Column("name", NAME, nullable=False),
    Column("role", String(16), nullable=False),
    Column("created", Float, nullable=False),
)

token_meta = Table(  # issue 12: names are identities (reviewers), unique; optional expiry
    "ci_token_meta",
    ci_metadata,
    Column("digest", String(64), primary_key=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("expires", Float),  # epoch seconds; NULL: never
    Column("created_by", NAME, nullable=False, default=""),
)

runner_registrations = Table(  # a runner's credential is a `runner` token of the same name
    "ci_runner_registrations",
    ci_metadata,
    Column("name", NAME, primary_key=True),
    Column("labels", Text, nullable=False, default="[]"),
    Column("scope", NAME, nullable=False),  # "org:<owner>" | "repo:<owner>/<name>"
    Column("created", Float, nullable=False),
    Column("created_by", NAME, nullable=False, default=""),
)

audit = Table(  # who changed protection rules, secrets, variables, tokens, runners (no values)
    "ci_audit",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", NAME, nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
)

runs = Table(
    "ci_runs",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repo", NAME, nullable=False, index=True),
    Column("clone_url", Text, nullable=False, default=""),
    Column("workflow_path", Text, nullable=False),
    Column("workflow_name", Text, nullable=False),
    Column("event", String(64), nullable=False),
    Column("ref", Text, nullable=False, default=""),
    Column("sha", String(64), nullable=False, default=""),
    Column("payload", Text, nullable=False, default="{}"),
    Column("status", String(16), nullable=False, index=True),
    Column("conclusion", String(16), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("concurrency_group", Text, nullable=False, default=""),
    Column("cancel_in_progress", Integer, nullable=False, default=0),
    Column("labels", Text, nullable=False, default="[]"),
    Column("only_jobs", Text, nullable=False, default="null"),
    Column("attempt", Integer, nullable=False, default=1),
    Column("run_number", Integer, nullable=False, default=1),
    Column("rerun_of", Integer),
    Column("annotations", Text, nullable=False, default="[]"),
    Column("runner", NAME, nullable=False, default=""),
    Column("heartbeat", Float, nullable=False, default=0.0),
    Column("created", Float, nullable=False),
    Column("started", Float),
    Column("finished", Float),
    # issue 18: the list filters GitHub offers (`ci_migrations` adds them to older databases)
    Column("actor", NAME, nullable=False, default=""),  # who triggered it (sender.login)
    Column("branch", NAME, nullable=False, default=""),  # GitHub's head_branch
)
Index("ix_ci_runs_repo_id", runs.c.repo, runs.c.id)

jobs = Table(
    "ci_jobs",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("job_id", NAME, nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("conclusion", String(16), nullable=False, default=""),
    Column("steps", Text, nullable=False, default="[]"),
    Column("annotations", Text, nullable=False, default="[]"),
    Column("outputs", Text, nullable=False, default="{}"),
    Column("summary", Text, nullable=False, default=""),
    Column("updated", Float, nullable=False, default=0.0),
)

units = Table(  # one job (or one label set of a matrix job) of a run, as a runner takes it
    "ci_units",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("job_id", NAME, nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("labels", Text, nullable=False, default="[]"),
    Column("matrix_filter", Text, nullable=False, default="null"),  # [[key, value]] or null
    Column(
        "status", String(16), nullable=False, index=True
    ),  # pending|waiting|queued|in_progress|completed
    Column(
        "conclusion", String(16), nullable=False, default=""
    ),  # success|failure|cancelled|skipped
    Column("outputs", Text, nullable=False, default="{}"),
    Column("reason", Text, nullable=False, default=""),
    Column("job_names", Text, nullable=False, default="[]"),  # ci_jobs rows it reported
    Column("concurrency_group", Text, nullable=False, default=""),
    Column("cancel_in_progress", Integer, nullable=False, default=0),
    Column("runner", NAME, nullable=False, default=""),
    Column("heartbeat", Float, nullable=False, default=0.0),
    Column("created", Float, nullable=False),
    Column("started", Float),
    Column("finished", Float),
)

unit_environments = Table(  # the environment a unit's job deploys to (`jobs.<id>.environment`)
    "ci_unit_environments",
    ci_metadata,
    Column("unit_id", Integer, primary_key=True, autoincrement=False),
    Column("run_id", Integer, nullable=False, index=True),
    Column("environment", NAME, nullable=False),
)

run_cancels = Table(  # a cancel requested: the run ends once the jobs that still run ended
    "ci_run_cancels",
    ci_metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("reason", Text, nullable=False, default=""),
    Column("requested", Float, nullable=False),
)

unit_stops = Table(  # a running unit cancelled alone (fail-fast, job-level cancel-in-progress)
    "ci_unit_stops",
    ci_metadata,
    Column("unit_id", Integer, primary_key=True, autoincrement=False),
    Column("run_id", Integer, nullable=False, index=True),
    Column("reason", Text, nullable=False, default=""),
    Column("requested", Float, nullable=False),
)

push_deliveries = Table(  # one ref update of one push, recorded with the runs it started
    "ci_push_deliveries",
    ci_metadata,
    Column("delivery", String(96), primary_key=True),  # "<push id>/<n>" (ci.pushspool)
    Column("repo", NAME, nullable=False),
    Column("ref", Text, nullable=False),
    Column("before", String(64), nullable=False),
    Column("after", String(64), nullable=False),
    Column("pusher", NAME, nullable=False, default=""),
    Column("received", Float, nullable=False),
    Column("recorded", Float, nullable=False),
)

logs = Table(
    "ci_logs",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("job", Text, nullable=False),
    Column("text", Text, nullable=False),
    # issue 18: 1-based line numbers, in the run and in the run's job, so that a range or a
    # tail is an index range (`ci_migrations` numbers the lines of older databases)
    Column("line", Integer, nullable=False, default=0),
    Column("job_line", Integer, nullable=False, default=0),
)
LOG_INDEXES = (
    Index("ix_ci_logs_run_line", logs.c.run_id, logs.c.line, unique=True),
    Index("ix_ci_logs_run_job_line", logs.c.run_id, logs.c.job, logs.c.job_line),
)

log_heads = Table(  # lines written per run: the next line number, and a tail's bounds
    "ci_log_heads",
    ci_metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("lines", Integer, nullable=False),
)

secrets = Table(
    "ci_secrets",
    ci_metadata,
    Column("scope", NAME, nullable=False),  # "org:acme", "repo:acme/app", "env:acme/app:prod"
    Column("name", NAME, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("updated", Float, nullable=False),
    PrimaryKeyConstraint("scope", "name"),
)

variables = Table(
    "ci_variables",
    ci_metadata,
    Column("scope", NAME, nullable=False),
    Column("name", NAME, nullable=False),
    Column("value", Text, nullable=False),
    Column("updated", Float, nullable=False),
    PrimaryKeyConstraint("scope", "name"),
)

environments = Table(
    "ci_environments",
    ci_metadata,
    Column("repo", NAME, nullable=False),
    Column("name", NAME, nullable=False),
    Column("reviewers", Text, nullable=False, default="[]"),
    Column("wait_timer", Float, nullable=False, default=0.0),
    Column("branches", Text, nullable=False, default="[]"),
    PrimaryKeyConstraint("repo", "name"),
)

approvals = Table(
    "ci_approvals",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("environment", NAME, nullable=False),
    Column("state", String(16), nullable=False),  # pending | approved | rejected
    Column("requested", Float, nullable=False),
    Column("decided", Float),
    Column("decided_by", NAME, nullable=False, default=""),
    Column("comment", Text, nullable=False, default=""),
    UniqueConstraint("run_id", "environment"),
)

deployments = Table(
    "ci_deployments",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repo", NAME, nullable=False, index=True),
    Column("environment", NAME, nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("ref", Text, nullable=False, default=""),
    Column("sha", String(64), nullable=False, default=""),
    Column("url", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("created", Float, nullable=False),
    Column("updated", Float, nullable=False),
)

statuses = Table(
    "ci_statuses",
    ci_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repo", NAME, nullable=False),
    Column("sha", String(64), nullable=False),
    Column("context", NAME, nullable=False),
    Column("state", String(16), nullable=False),  # pending | success | failure | error
    Column("description", Text, nullable=False, default=""),
    Column("target_url", Text, nullable=False, default=""),
    Column("environment", NAME, nullable=False, default=""),
    Column("updated", Float, nullable=False),
    UniqueConstraint("repo", "sha", "context"),
)

deliveries = Table(  # GitHub webhook deliveries taken (X-GitHub-Delivery): a replay is a no-op
    "ci_deliveries",
    ci_metadata,
    Column("id", NAME, primary_key=True),
    Column("repo", NAME, nullable=False, default=""),
    Column("event", String(64), nullable=False, default=""),
    Column("runs", Text, nullable=False, default="[]"),  # JSON list of run ids
    Column("done", Integer, nullable=False, default=0),  # 0 while the delivery is handled
    Column("received", Float, nullable=False),
)

runners = Table(
    "ci_runners",
    ci_metadata,
    Column("name", NAME, primary_key=True),
    Column("labels", Text, nullable=False, default="[]"),
    Column("kind", String(16), nullable=False),  # local | remote
    Column("ephemeral", Integer, nullable=False, default=0),
    Column("last_seen", Float, nullable=False, default=0.0),
)


def create_ci_tables(conn: Connection) -> None:
    """Create the CI tables that do not exist yet (idempotent); `ci_migrations.setup_ci`
    then adds what older versions of existing tables lack."""
    ci_metadata.create_all(conn, checkfirst=True)
    create_delivery_table(conn)  # issue 17: notifications the server sent
