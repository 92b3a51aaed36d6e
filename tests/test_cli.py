"""The `conveyor` entry point: help, version, and how errors reach the user."""

from __future__ import annotations

import subprocess
import sys


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
