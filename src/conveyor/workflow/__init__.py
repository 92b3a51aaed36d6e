"""The GitHub Actions language and engine.

`model/` holds the parsed, immutable workflow; `load.py` turns YAML into it with
`file:line:col` errors against GitHub's schema; `expr/` evaluates `${{ }}`; `plan/` decides
which workflows and jobs an event triggers (filters, matrix, graph); `run/` executes a plan
(scheduler, jobs, steps, workflow commands, masking) and, in `run/actions/`, resolves and
runs actions.

Called by `conveyor.app` (the CLI) and, later, `conveyor.ci`. Must not import `promote` or
`reconcile`; it reaches processes only through `conveyor.runners`.
"""
