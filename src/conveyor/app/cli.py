"""The `conveyor` entry point: a click group whose subcommands load on first use.

`main()` is the console script. It maps a `UserError` to its `file:line:col: message` and
exit code 2, and any other exception to a one-line internal error (the traceback only with
`--debug`), so users never see a bare traceback.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import click

from conveyor import __version__
from conveyor.core.errors import UserError

#: subcommand name -> (module, attribute, one-line help); modules are imported lazily.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("conveyor.app.cmd_run", "run", "Run the workflows an event triggers."),
    "lint": ("conveyor.app.cmd_lint", "lint", "Validate workflow files; report every problem."),
    "expr": ("conveyor.app.cmd_expr", "expr", "Evaluate a GitHub Actions expression."),
    "up": ("conveyor.app.cmd_up", "up", "Run the platform on this machine."),
    "down": ("conveyor.app.cmd_down", "down", "Stop `up`; remove the workloads it runs."),
    "promote": ("conveyor.app.cmd_promote", "promote", "Record a new image in a config repo."),
    "affected": ("conveyor.app.cmd_affected", "affected", "Map changed files to projects."),
    "reconcile": ("conveyor.app.cmd_reconcile", "reconcile", "Run the GitOps control loop."),
    "app": ("conveyor.app.cmd_app", "app", "Inspect and operate applications."),
    "actions": ("conveyor.app.cmd_actions", "actions", "Vendor and list offline actions."),
    "server": ("conveyor.app.cmd_server", "server", "Run the Conveyor server."),
    "runner": ("conveyor.app.cmd_runner", "runner", "Run a remote runner agent."),
    "approve": ("conveyor.app.cmd_approve", "approve", "Approve a deployment to an environment."),
    "reject": ("conveyor.app.cmd_approve", "reject", "Reject a deployment to an environment."),
    "demo": ("conveyor.app.cmd_demo", "demo", "Run the scripted tour against `conveyor up`."),
    "status": ("conveyor.app.cmd_status", "status", "Runs, environments and pending approvals."),
    "notifications": (
        "conveyor.app.cmd_notifications",
        "notifications",
        "Notification deliveries and their attempts.",
    ),
    "seal": ("conveyor.app.cmd_seal", "seal", "Seal a Secret (Bitnami Sealed Secrets); keys."),
    "secrets": ("conveyor.app.cmd_secrets", "secrets", "Encrypt and decrypt SOPS files (age)."),
}

EXIT_USER_ERROR = 2
EXIT_INTERNAL = 3


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attr, _ = LAZY_COMMANDS[cmd_name]
            try:
                command = getattr(importlib.import_module(module_name), attr)
            finally:
                gc.enable()  # paused by `conveyor.app.entry` for the start-up imports
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, LAZY_COMMANDS[name][2]) for name in sorted(LAZY_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.version_option(__version__, prog_name="conveyor")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Conveyor: run GitHub Actions workflows, promote images, reconcile environments."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> Any:
    """Console script: run the CLI and exit with its code (see `run`)."""
    return sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(args: list[str]) -> int:
    """Run `conveyor ARGS` and return its exit code; both the console script (`main`) and a
    warm child (`app.warmchild`) call this, so the two paths cannot disagree on the code.

    Every way a command ends becomes a number here: a click `Exit` (which click hands back
    as a return value, not an exception, outside standalone mode), `sys.exit` inside a
    command, a command's own return value, and errors (`UserError` → 2, internal → 3).
    """
    try:
        return _exit_code(_invoke(args))
    except SystemExit as exc:
        return _exit_code(exc.code)


def _invoke(args: list[str]) -> Any:
    debug = "--debug" in args
    try:
        return cli.main(args=args, prog_name="conveyor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_USER_ERROR
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # the last line of defence: no bare tracebacks for users
        if debug:
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            err=True,
        )
        return EXIT_INTERNAL


def _exit_code(code: object) -> int:
    """What `sys.exit(code)` would make the process exit with (a message prints, exit 1)."""
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, bool):
        return int(code)
    print(code, file=sys.stderr)
    return 1
