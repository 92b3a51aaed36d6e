"""From an event to a plan: trigger filters, matrix expansion, the job graph, typed inputs.

Pure functions over the parsed workflow (`conveyor.workflow.model`) and the `Event`
(`event`: the value; `conveyor.workflow.events` synthesizes it from Git or a payload file):

- `globs`: GitHub's filter patterns (`*`, `**`, `?`, `+`, `[]`, `!`, last match wins);
- `filters.triggers(workflow, event)`: does this event start this workflow, and why not;
- `matrix.expand(...)`: `strategy.matrix` legs with GitHub's include/exclude rules;
- `strategy.resolve(...)`: a job's `strategy` evaluated (expression keys and `${{ insert }}`
  included) into its legs, `fail-fast` and `max-parallel`, for the engine and the CI server;
- `jobs`: the job planner both of them call: readiness, `if` with the job-level status
  functions, legs, leg names, `runs-on`, job-level `concurrency` and `environment`;
- `github`: the `github` context (and its job-level form, which the planner reads);
- `containers.resolve(...)`, `containers.resolve_services(...)`: `container:` and
  `services:` (also `services: ${{ … }}`, and a service's `entrypoint`/`command`) evaluated
  at job start;
- `graph`: `needs` validation, topological order, the jobs a finished job unblocks;
- `inputs`: `--input K=V` strings and `with:` values coerced to their declared types.

Called by the run layer (`conveyor.workflow.run`), the CI server (`conveyor.ci`) and the CLI
(`conveyor run -l`). Must not import any I/O library (an import-linter contract checks
it): no subprocess, no asyncio.
"""
