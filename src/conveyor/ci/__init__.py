"""The CI service (issue 8): events become workflow runs that runners execute.

Owns, by module:

* `events` (push / webhook / dispatch → `Event`), `triggers` (which workflows of a commit
  run, invalid files as failed runs with file:line annotations, concurrency, labels);
* `service.CIService` — the run queue and its rules: concurrency groups across runs
  (cancel-in-progress, pending-run replacement), cancel, re-run, commit statuses,
  recovery after a restart, heartbeat timeouts; `runnerapi` (what runners call: poll,
  logs, jobs, heartbeat, environment gate, deployment, complete); `settings` (secrets,
  variables, environments with protection rules, approvals);
* `crypto` (Fernet key from a file created 0600 or `$CONVEYOR_SECRET_KEY`);
* `executor` — runs one assigned run with the workflow engine (`workflow.run`), used by
  `pool.LocalPool` (runners inside the server) and `agent` (`conveyor runner`, remote).

Called by `conveyor.server` (HTTP routes, Git push hook, process wiring) and `conveyor.app`
(`conveyor runner`). Persists through `conveyor.store.ci_store` / `ci_config_store`. Must
not render HTTP; runs jobs only through the workflow engine.
"""
