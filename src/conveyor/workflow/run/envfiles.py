"""The per-step environment files: GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE and GITHUB_PATH.

The step executor (`conveyor.workflow.run.steps`) creates the files empty before a step, and
after it calls `parse_kv_file` / `parse_env_file` / `parse_path_file` on their text. Pure: no
file I/O here; the caller reads the file and passes its path for messages.

The format follows GitHub's runner (`FileCommandManager.cs` and its key/value reader):

- empty lines are skipped; `NAME=VALUE` splits at the first `=`; `NAME<<DELIM` starts a
  heredoc whose value is every following line up to the first line equal to DELIM (the line
  break before DELIM is not part of the value). Whichever of `=` and `<<` comes first wins.
- an empty name, an empty delimiter, a heredoc never closed, or a line with neither `=` nor
  `<<` is an error; the runner fails the step and keeps what was read before the bad line.
- names are not trimmed (`A =1` sets `A `), exactly like the runner.
- GITHUB_ENV may not set NODE_OPTIONS: the runner reports an error annotation and skips it,
  the step does not fail.
- Deviation, on purpose: CRLF files are accepted (a `\\r` before the `\\n` is dropped), where
  the Linux runner would keep the `\\r` in values and never match a heredoc delimiter.

GITHUB_PATH: one directory per line, empty lines skipped. The runner keeps a list to which
each line is appended (after removing an equal earlier entry) and builds PATH from the list
*reversed*, so the last line written is first in PATH, and a later step's directories come
before an earlier step's (`extend_prepend_path` / `compose_path`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from conveyor.core.errors import UserError
from conveyor.core.location import Location

BLOCKED_ENV_NAMES = frozenset({"NODE_OPTIONS"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # .NET's ReadAllLines; not str.splitlines' extras


class EnvFileError(UserError):
    """A malformed environment file; `values` holds what was read before the bad line."""

    def __init__(self, message: str, *, location: Location, values: dict[str, str]) -> None:
        super().__init__(
            message,
            location=location,
            hint="write NAME=VALUE or NAME<<DELIMITER ... DELIMITER lines",
        )
        self.values = values


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvFileResult:
    """What a GITHUB_ENV file sets, and the error annotations for names it may not set."""

    values: dict[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the break after the last line does not start another line
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse_kv_file(text: str, *, path: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file; later names overwrite earlier."""
    values: dict[str, str] = {}
    lines = _lines(text)
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        where = Location(file=path, line=index)
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line[:equals], line[equals + 1 :]
            if not name:
                raise EnvFileError(
                    f"Invalid format '{line}'. Name must not be empty",
                    location=where,
                    values=values,
                )
            values[name] = value
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not name or not delimiter:
                raise EnvFileError(
                    f"Invalid format '{line}'. Name must not be empty and delimiter must not "
                    "be empty",
                    location=where,
                    values=values,
                )
            try:
                end = lines.index(delimiter, index)
            except ValueError:
                raise EnvFileError(
                    f"Invalid value. Matching delimiter not found '{delimiter}'",
                    location=where,
                    values=values,
                ) from None
            values[name] = "\n".join(lines[index:end])
            index = end + 1
        else:
            raise EnvFileError(f"Invalid format '{line}'", location=where, values=values)
    return values


def parse_env_file(text: str, *, path: str) -> EnvFileResult:
    """Parse a GITHUB_ENV file, leaving out (with an error message) names GitHub blocks."""
    values: dict[str, str] = {}
    errors: list[str] = []
    for name, value in parse_kv_file(text, path=path).items():
        if name.upper() in BLOCKED_ENV_NAMES:
            errors.append(f"Can't store {name} output parameter using '$GITHUB_ENV' command.")
        else:
            values[name] = value
    return EnvFileResult(values=values, errors=tuple(errors))


def parse_path_file(text: str) -> list[str]:
    """The directories of a GITHUB_PATH file, in the order written (empty lines skipped)."""
    return [line for line in _LINE_BREAK.split(text) if line]


def extend_prepend_path(current: Sequence[str], added: Iterable[str]) -> tuple[str, ...]:
    """The runner's PrependPath list after `added` (each moves to the end if already there)."""
    result = list(current)
    for directory in added:
        if directory in result:
            result.remove(directory)
        result.append(directory)
    return tuple(result)


def compose_path(prepend: Sequence[str], base: str) -> str:
    """PATH for the next step: the prepend list reversed (newest first), then `base`."""
    parts = [*reversed(prepend), base] if base else list(reversed(prepend))
    return ":".join(parts)
