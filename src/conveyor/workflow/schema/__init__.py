"""Workflow and action files checked against GitHub's own template schema.

`nodes` turns YAML text into nodes that keep line and column (resolving aliases, rejecting
unknown tags the way GitHub does; `positions` places anchored nodes); `definitions` reads
GitHub's `workflow-v1.0` / `action-v1.0` schema JSON (from the npm package
`@actions/workflow-parser`); `reader` walks the nodes against those definitions and reports
every problem; `expressions` checks each `${{ }}` against the contexts and functions the
schema allows at that key; `jobs_check`, `steps_check`, `events_check` (with `cron`) and
`calls_check` add GitHub's semantic rules (needs graph, ids from `ids`, filters, cron,
reusable-workflow calls); `validate` runs them all for one text; `build_*` (with `convert`)
turn validated nodes into `conveyor.workflow.model`. Every checker reports
`problems.Problem`s into a `Sink`.

Called by `conveyor.workflow.load` only. Reads no files except the schema JSON.
"""
