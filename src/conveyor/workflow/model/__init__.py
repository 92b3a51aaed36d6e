"""The parsed workflow: frozen values built by `conveyor.workflow.load`, read by plan and run.

Parsed specs are immutable; run state lives in `conveyor.workflow.run`. Pure: no I/O.
"""
