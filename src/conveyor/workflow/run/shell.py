"""GitHub's `shell:` rules for `run:` steps: which program runs the script, with which arguments.

Called by the step executor (`conveyor.workflow.run.steps`): `script_command` writes the
script into the job's temp directory with the extension the shell expects and returns the
argv to hand to the runner. `shell_argv` / `script_extension` are the pure halves.

Rules (GitHub's `ScriptHandler.cs` and `ScriptHandlerHelpers.cs`, Linux):

| `shell:`            | argv                                              | file  |
|---------------------|---------------------------------------------------|-------|
| (none)              | `bash -e {0}`; `sh -e {0}` when bash is absent    | `.sh` |
| `bash`              | `bash --noprofile --norc -eo pipefail {0}`        | `.sh` |
| `sh`                | `sh -e {0}`                                       | `.sh` |
| `python`            | `python {0}`                                      | `.py` |
| `pwsh`/`powershell` | `pwsh -command ". '{0}'"` (error if not installed)| `.ps1`|
| `cmd`               | error: Windows only                               |       |
| `prog args {0}`     | `prog` + args, `{0}` replaced by the script path   | none  |

A custom shell splits at the first space into program and arguments; the arguments must
contain `{0}` (else GitHub's "Invalid shell option" error). A built-in name given with its own
arguments (`bash -x {0}`) uses those arguments and keeps the built-in's file extension. With
no `shell:`, `defaults.run.shell` applies (the caller passes it as `default_shell`). The
program is looked up on the step's PATH when given, like the runner's `which`.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from conveyor.core.errors import UserError

_ARGS = {
    "bash": "--noprofile --norc -e -o pipefail {0}",
    "sh": "-e {0}",
    "python": "{0}",
    "pwsh": "-command \". '{0}'\"",
    "powershell": "-command \". '{0}'\"",
    "cmd": '/D /E:ON /V:OFF /S /C "CALL "{0}""',
}
_EXTENSIONS = {
    "bash": ".sh",
    "sh": ".sh",
    "python": ".py",
    "pwsh": ".ps1",
    "powershell": ".ps1",
    "cmd": ".cmd",
}
_PWSH_PROLOGUE = "$ErrorActionPreference = 'stop'"
_PWSH_EPILOGUE = "if ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) { exit $LASTEXITCODE }"


class ShellError(UserError):
    """The step's `shell:` cannot be used here (unknown format, program not installed)."""


def _program(shell: str | None, default_shell: str | None) -> tuple[str | None, str]:
    """(program, argument format) for an explicit or default shell; (None, '') for none."""
    chosen = shell if shell and shell.strip() else default_shell
    if not chosen or not chosen.strip():
        return None, ""
    program, _, args = chosen.strip().partition(" ")
    args = args.strip() or _ARGS.get(program.lower(), "")
    return program, args


def script_extension(shell: str | None, *, default_shell: str | None = None) -> str:
    """The script file's extension for this shell (`.sh`, `.py`, `.ps1`, or none)."""
    program, _ = _program(shell, default_shell)
    if program is None:
        return ".sh"
    return _EXTENSIONS.get(program.lower(), "")


def _which(program: str, path: str | None) -> str | None:
    """`shutil.which` without importing shutil (which drags in bz2/lzma) on every step."""
    if os.sep in program:
        return program if os.access(program, os.X_OK) else None
    for directory in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = Path(directory or ".") / program
        try:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        except PermissionError:  # a PATH directory this user may not enter, as `which` skips
            continue
    return None


def shell_argv(
    shell: str | None,
    *,
    default_shell: str | None = None,
    script_path: str,
    path: str | None = None,
) -> list[str]:
    """The argv that runs `script_path` under GitHub's rules for `shell`; see the module doc."""
    program, args = _program(shell, default_shell)
    if program is None:
        found = _which("bash", path)
        if found is not None:
            return ["bash", "-e", script_path]
        return ["sh", "-e", script_path]
    name = program.lower()
    if name == "cmd":
        raise ShellError("shell 'cmd' is only available on Windows runners", hint="use bash")
    if not args or "{0}" not in args:
        raise ShellError(
            "Invalid shell option. Shell must be a valid built-in (bash, sh, cmd, powershell, "
            "pwsh) or a format string containing '{0}'",
            hint="e.g. `shell: perl {0}`",
        )
    if _which(program, path) is None:
        if name == "python" and _which("python3", path) is not None:
            program = "python3"  # Debian-like hosts ship no `python`; hosted runners do
        else:
            hint = (
                "install PowerShell (pwsh) or use bash"
                if "powershell" in name or name == "pwsh"
                else None
            )
            raise ShellError(
                f"{program}: command not found (needed by `shell: {program}`)", hint=hint
            )
    # Like the runner: put the (quote-escaped) path into the argument string, then split it
    # the way .NET's Process does on Unix (double quotes and backslashes; `'` is literal).
    return [program, *split_arguments(args.replace("{0}", script_path.replace('"', '\\"')))]


def split_arguments(text: str) -> list[str]:
    """Split an argument string as .NET's `Process` does on Unix (Windows argv rules).

    Space and tab separate words outside double quotes; `"` toggles quoting and `""` inside
    quotes is a literal quote; 2n backslashes before `"` are n backslashes (the quote still
    toggles), 2n+1 are n backslashes and a literal `"`; other backslashes are literal.
    """
    words: list[str] = []
    current: list[str] = []
    in_word = quoted = False
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char == "\\":
            run = index
            while run < size and text[run] == "\\":
                run += 1
            count = run - index
            if run < size and text[run] == '"':
                current.append("\\" * (count // 2))
                if count % 2:
                    current.append('"')
                    run += 1
            else:
                current.append("\\" * count)
            in_word, index = True, run
            continue
        if char == '"':
            if quoted and index + 1 < size and text[index + 1] == '"':
                current.append('"')
                index += 2
                continue
            quoted, in_word = not quoted, True
        elif char in " \t" and not quoted:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        index += 1
    if in_word:
        words.append("".join(current))
    return words


def fix_up_script(shell: str | None, script: str, *, default_shell: str | None = None) -> str:
    """The script text as the runner writes it (PowerShell gets its stop/exit-code wrapper)."""
    program, _ = _program(shell, default_shell)
    if program is not None and program.lower() in ("pwsh", "powershell"):
        return f"{_PWSH_PROLOGUE}\n{script}\n{_PWSH_EPILOGUE}"
    return script


def script_command(
    shell: str | None,
    *,
    default_shell: str | None,
    script: str,
    temp: Path,
    path: str | None = None,
) -> list[str]:
    """Write `script` to a new file in `temp` and return the argv that runs it."""
    extension = script_extension(shell, default_shell=default_shell)
    script_path = temp / f"{uuid.uuid4()}{extension}"
    argv = shell_argv(shell, default_shell=default_shell, script_path=str(script_path), path=path)
    text = fix_up_script(shell, script, default_shell=default_shell)
    script_path.write_text(text, encoding="utf-8")
    return argv
