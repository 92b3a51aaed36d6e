"""The `conveyor` entry point: help, version, and how errors reach the user."""

from __future__ import annotations

import subprocess
import sys

import click

from conveyor.app.cli import LAZY_COMMANDS, cli


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conveyor.app", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_help_lists_the_lazy_subcommands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("run", "lint", "expr"):
        assert f"  {name} " in result.stdout


def test_unknown_flag_is_a_usage_error_with_exit_2() -> None:
    result = run_cli("--no-such-flag")
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_console_entry_pauses_gc_only_until_the_command_is_loaded() -> None:
    code = (
        "import gc, sys\n"
        "sys.argv = ['conveyor', 'expr', '1 == 1']\n"
        "from conveyor.app.entry import main\n"
        "main()\n"
        "print('gc enabled:', gc.isenabled())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "gc enabled: True" in result.stdout


def test_every_registered_command_loads() -> None:
    ctx = click.Context(cli)
    for name in LAZY_COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command), name
