"""Composition root: the `conveyor` command line and, later, daemon wiring and `conveyor up`.

Only this package chooses concrete runners and targets. Nothing imports it.
Each subcommand lives in its own `cmd_<name>.py` and is imported only when invoked, so that
`conveyor run` on a one-step workflow starts fast (see `cli.LAZY_COMMANDS`).
"""
