"""Where a job's commands execute, behind one Protocol: `host` (and later `podman`).

Called by `conveyor.workflow.run`. Knows processes, files and containers; knows nothing of
workflow syntax.
"""
