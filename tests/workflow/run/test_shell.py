"""GitHub's `shell:` rules (ScriptHandler.cs / ScriptHandlerHelpers.cs) on Linux."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conveyor.workflow.run.shell import (
    ShellError,
    script_command,
    script_extension,
    shell_argv,
    split_arguments,
)

S = "/tmp/s"


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH holding fake programs, so lookups do not depend on this machine."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for name in ("bash", "sh", "python", "perl", "node"):
        program = directory / name
        program.write_text("#!/bin/true\n")
        program.chmod(0o755)
    return directory


# (id, shell, default_shell, argv, extension)
CASES = [
    ("no shell", None, None, ["bash", "-e", S], ".sh"),
    ("empty shell", "", None, ["bash", "-e", S], ".sh"),
    ("bash", "bash", None, ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", S], ".sh"),
    ("sh", "sh", None, ["sh", "-e", S], ".sh"),
    ("python", "python", None, ["python", S], ".py"),
    ("custom", "perl {0}", None, ["perl", S], ""),
    ("custom with args", "node --foo {0} --bar", None, ["node", "--foo", S, "--bar"], ""),
    (
        "custom embedded, single quotes literal",
        "perl -e do('{0}')",
        None,
        ["perl", "-e", f"do('{S}')"],
        "",
    ),
    (
        "custom double quotes group",
        "node -e \"require('{0}')\" x",
        None,
        ["node", "-e", f"require('{S}')", "x"],
        "",
    ),
    ("builtin with own args", "bash -x {0}", None, ["bash", "-x", S], ".sh"),
    ("default from defaults.run", None, "sh", ["sh", "-e", S], ".sh"),
    ("explicit beats default", "python", "sh", ["python", S], ".py"),
    ("custom default", None, "perl {0}", ["perl", S], ""),
    ("name case-insensitive args", "BASH", None, None, ".sh"),
]


@pytest.mark.parametrize(
    ("shell", "default", "argv", "extension"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_shell_rules(
    bin_dir: Path, shell: str | None, default: str | None, argv: list[str] | None, extension: str
) -> None:
    assert script_extension(shell, default_shell=default) == extension
    if argv is None:
        return
    assert shell_argv(shell, default_shell=default, script_path=S, path=str(bin_dir)) == argv


def test_without_bash_default_falls_back_to_sh(tmp_path: Path, bin_dir: Path) -> None:
    (bin_dir / "bash").unlink()
    assert shell_argv(None, script_path=S, path=str(bin_dir)) == ["sh", "-e", S]


@pytest.mark.parametrize(
    ("shell", "message"),
    [
        ("pwsh", "pwsh: command not found"),
        ("powershell", "powershell: command not found"),
        ("cmd", "only available on Windows"),
        ("perl", "Invalid shell option"),
        ("perl -w", "format string containing '{0}'"),
        ("ruby {0}", "ruby: command not found"),
    ],
)
def test_unusable_shells_are_clear_errors(bin_dir: Path, shell: str, message: str) -> None:
    with pytest.raises(ShellError, match=message):
        shell_argv(shell, script_path=S, path=str(bin_dir))


def test_python_falls_back_to_python3(tmp_path: Path, bin_dir: Path) -> None:
    (bin_dir / "python").rename(bin_dir / "python3")
    assert shell_argv("python", script_path=S, path=str(bin_dir)) == ["python3", S]


def test_script_command_writes_script_with_extension(tmp_path: Path, bin_dir: Path) -> None:
    argv = script_command(
        "python", default_shell=None, script="print(1)\n", temp=tmp_path, path=str(bin_dir)
    )
    script = Path(argv[-1])
    assert script.parent == tmp_path
    assert script.suffix == ".py"
    assert script.read_text() == "print(1)\n"


def test_script_command_writes_nothing_when_shell_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(ShellError):
        script_command("cmd", default_shell=None, script="x", temp=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_powershell_script_gets_githubs_wrapper(tmp_path: Path, bin_dir: Path) -> None:
    (bin_dir / "pwsh").write_text("#!/bin/true\n")
    (bin_dir / "pwsh").chmod(0o755)
    argv = script_command(
        "pwsh", default_shell=None, script="Write-Host hi", temp=tmp_path, path=str(bin_dir)
    )
    assert argv[:2] == ["pwsh", "-command"]
    assert argv[2] == f". '{argv[2][3:-1]}'"
    text = Path(argv[2][3:-1]).read_text()
    assert text.startswith("$ErrorActionPreference = 'stop'\nWrite-Host hi\n")


@pytest.mark.parametrize(
    ("shell", "script", "code"),
    [
        (None, "false\necho not reached", 1),  # -e
        (None, "false | true\n", 0),  # no pipefail by default
        ("bash", "false | true\n", 1),  # pipefail with shell: bash
        ("sh", "false\necho no", 1),
    ],
)
def test_real_shells_behave_like_github(
    tmp_path: Path, shell: str | None, script: str, code: int
) -> None:
    argv = script_command(shell, default_shell=None, script=script, temp=tmp_path)
    assert subprocess.run(argv, check=False, capture_output=True).returncode == code


SPLIT_CASES = [
    ("spaces and tabs", "a  b\tc", ["a", "b", "c"]),
    ("leading and trailing space", "  a  ", ["a"]),
    ("empty", "", []),
    ("double quotes group", 'a "b c" d', ["a", "b c", "d"]),
    ("quotes inside a word", 'a"b c"d', ["ab cd"]),
    ("empty quoted word", 'a "" b', ["a", "", "b"]),
    ("doubled quote inside quotes", '"a""b"', ['a"b']),
    ("single quotes are literal", "'a b'", ["'a", "b'"]),
    ("backslash literal", "a\\b c\\", ["a\\b", "c\\"]),
    ("escaped quote", 'a\\"b', ['a"b']),
    ("two backslashes then quote", 'a\\\\"b c"', ["a\\b c"]),
    ("three backslashes then quote", 'a\\\\\\"b', ['a\\"b']),
]


@pytest.mark.parametrize(
    ("text", "words"), [c[1:] for c in SPLIT_CASES], ids=[c[0] for c in SPLIT_CASES]
)
def test_split_arguments_like_dotnet(text: str, words: list[str]) -> None:
    assert split_arguments(text) == words


def test_script_path_with_double_quote_survives(bin_dir: Path) -> None:
    path = '/tmp/we"ird dir/s.pl'
    assert shell_argv('perl "{0}"', script_path=path, path=str(bin_dir)) == ["perl", path]
