"""The CI service (issue 8): events become workflow runs whose jobs runners execute.

The model, as GitHub's: a run is a set of jobs, and each job is queued on its own. A job
is planned on the server as soon as every job it `needs` has concluded: its `if`, matrix,
`runs-on` and job-level `concurrency` are evaluated there; a skipped job (or one whose
`if`/matrix/`runs-on` cannot be evaluated) is concluded without a runner; the others become
*units* (one per job, or one per distinct label set of a matrix job, selecting its legs
with the engine's matrix filter) that a runner with the unit's labels claims. The runner
runs only that job with the workflow engine, given the concluded jobs' results and
outputs (`prior_jobs`) and the run's artifacts so far; it reports the job's result and
outputs, and the run advances. The run's conclusion aggregates its jobs (failure, then
cancelled, then success). A job that deploys to an environment whose rules hold it (required
reviewers, wait timer) waits on the server, holding no runner, until they let it go; a branch
that may not deploy fails it before anything waits. Cancelling a run re-evaluates the `if` of
its unfinished jobs with `cancelled()` true: those that hold (`always()`, `cancelled()`) still
run, running ones that do not are stopped through their runner (whose engine still runs the
`always()` steps), and the run concludes `cancelled` once every job has.

Owns, by module:

* `pushspool` (the `post-receive` hook of hosted repositories writes each push's ref
  updates, as git reports them, to `<data>/pushes` before git answers) and `intake` (hands
  them to the service, each ref update recorded once with its runs; drains what a killed
  server left);
* `events` (push / webhook / dispatch → `Event`), `triggers` (which workflows of a commit
  run, invalid files as failed runs with file:line annotations, workflow concurrency);
* `service.CIService` — a facade over the service's parts, built from one frozen `deps.Deps`
  (store, box, config, masker, wake-up call, lock, counters, clock) by `wiring.wire`, each
  handed the parts it calls: `ledger` (store rows as the frozen values of `model`: `Run`,
  `Unit`, `Job`, `StrEnum` statuses and conclusions), `newruns` (events → runs),
  `groups` (workflow- and job-level concurrency groups across runs: cancel-in-progress,
  pending replacement), `dispatch` (runs → units, the step function `Dispatcher.advance`),
  `jobplan` (pure: readiness, server-side `if`, matrix, `runs-on` and job concurrency
  evaluation), `endings` (a unit or run concludes, fail-fast, a running unit told to stop),
  `gates` (environment rules before a unit is queued: `waiting`, approval, wait timer),
  `cancels` (cancel and force-cancel, the jobs that still run, the cancel timeout),
  `reruns` (re-run all or failed jobs), `recovery` (after a restart; per-job heartbeat
  timeouts), `runnerapi` (`RunnerProtocol`: what runners call — poll for a unit, logs,
  jobs, heartbeat, environment gate, deployment, artifacts up and down, complete),
  `settings` (secrets, variables, environments with protection rules, approvals), and the
  small ones `runworkflows`, `statuses`, `hosted`, `artifactstore`;
* `crypto` (Fernet key from a file created 0600 or `$CONVEYOR_SECRET_KEY`);
* `webhooks` — GitHub deliveries: per-repository secrets, delivery ids, clone URLs,
  commits checked against their refs; `events.from_fork` (fork pull requests get no
  secrets);
* `executor` — runs one assigned unit with the workflow engine (`workflow.run`; the run's
  artifacts in and out through `artifacts`), used by
  `pool.LocalPool` (runners inside the server) and `agent` (`conveyor runner`, remote).

Called by `conveyor.server` (HTTP routes, Git push hook, process wiring) and `conveyor.app`
(`conveyor runner`). Persists through `conveyor.store.ci_store` / `ci_config_store`. Must
not render HTTP; runs jobs only through the workflow engine.
"""
