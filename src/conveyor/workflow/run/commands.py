"""Workflow commands in a step's output: `::name key=value,key=value::message`.

The step executor creates one `CommandParser` per step and passes it every output line
(before masking, as the runner does); `parse_line` returns `None` for ordinary output and a
`Command` for a line the runner would consume. The `Command` says what to do (`kind`,
`properties`, `data`), what GitHub writes to the log instead of the line (`display`), the
annotations the line raises (the `::error::` itself, deprecation warnings, processing
errors) and whether processing failed, which fails the step. Pure: no I/O.

Rules from GitHub's runner (`ActionCommand.cs`, `ActionCommandManager.cs`):

- a command is recognised only after leading whitespace and only if its name is registered
  (case-insensitive); unknown `::foo::x` lines are ordinary output. The legacy
  `##[name key=value;key=value]message` form (anywhere in the line) is still accepted.
- properties split at `,` then at the first `=`; pairs with an empty key or value are
  dropped; keys are case-insensitive. Unescaping is ordered replacement: data `%0D %0A %25`,
  properties also `%3A %2C` (before `%25`, so `%253A` stays `%3A`).
- `::stop-commands::TOKEN` ignores every command until a line `::TOKEN::`; both lines are
  echoed to the log.
- echo (`::echo::on|off`, default on only with step debug) prints consumed command lines;
  `add-mask`, `debug`, `error`, `warning`, `notice` never echo (add-mask echoes `***`).
- `set-env` and `add-path` are disabled (the step fails with GitHub's message) unless
  `ACTIONS_ALLOW_UNSECURE_COMMANDS` is true; `set-output` and `save-state` still work and
  raise GitHub's deprecation warning.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache


class CommandKind(StrEnum):
    """What a consumed line asks for; the values are GitHub's command names."""

    ADD_MASK = "add-mask"
    GROUP = "group"
    ENDGROUP = "endgroup"
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"
    DEBUG = "debug"
    ECHO = "echo"
    STOP_COMMANDS = "stop-commands"
    SET_OUTPUT = "set-output"
    SAVE_STATE = "save-state"
    SET_ENV = "set-env"
    ADD_PATH = "add-path"
    ADD_MATCHER = "add-matcher"
    REMOVE_MATCHER = "remove-matcher"
    RESUME_COMMANDS = "resume-commands"  # the `::TOKEN::` line; not a name one can type
    IGNORED = "ignored"  # consumed but without effect (e.g. set-env of NODE_OPTIONS)

    @staticmethod
    @cache
    def registered() -> frozenset[str]:
        """The names the runner recognises as commands."""
        synthetic = {CommandKind.RESUME_COMMANDS, CommandKind.IGNORED}
        return frozenset(kind.value for kind in CommandKind if kind not in synthetic)


class AnnotationLevel(StrEnum):
    """GitHub's annotation levels (`::error::`, `::warning::`, `::notice::`)."""

    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation:
    """An issue shown on the run: from `::error file=a.py,line=3::msg` or raised by the runner."""

    level: AnnotationLevel
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    col: int | None = None
    end_column: int | None = None
    title: str | None = None

    def as_dict(self) -> dict[str, str | int]:
        """JSON form with GitHub's property names; absent properties are left out."""
        pairs: list[tuple[str, str | int | None]] = [
            ("level", self.level.value),
            ("message", self.message),
            ("file", self.file),
            ("line", self.line),
            ("endLine", self.end_line),
            ("col", self.col),
            ("endColumn", self.end_column),
            ("title", self.title),
        ]
        return {key: value for key, value in pairs if value is not None}


def _number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def issue_annotation(
    level: AnnotationLevel, message: str, props: Mapping[str, str], *, workspace: str | None
) -> Annotation:
    """The annotation of an `::error/warning/notice` command; `file` made workspace-relative."""
    file = props.get("file") or None
    if file and workspace and posixpath.isabs(file):
        relative = posixpath.relpath(file, workspace)
        if not relative.startswith(".."):
            file = relative
    return Annotation(
        level=level,
        message=message,
        file=file,
        line=_number(props.get("line")),
        end_line=_number(props.get("endline")),
        col=_number(props.get("col")),
        end_column=_number(props.get("endcolumn")),
        title=props.get("title") or None,
    )


_ISSUES = {
    CommandKind.ERROR: AnnotationLevel.ERROR,
    CommandKind.WARNING: AnnotationLevel.WARNING,
    CommandKind.NOTICE: AnnotationLevel.NOTICE,
}
_OMIT_ECHO = frozenset({CommandKind.ADD_MASK, CommandKind.DEBUG, *_ISSUES})
_DATA_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY_ESCAPES = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY_ESCAPES = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))

DISABLED_MESSAGE = (
    "The `{0}` command is disabled. Please upgrade to using Environment Files or opt into "
    "unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment "
    "variable to `true`. For more information see: "
    "https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
)
DEPRECATED_MESSAGE = (
    "The `{0}` command is deprecated and will be disabled soon. Please upgrade to using "
    "Environment Files. For more information see: "
    "https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/"
)


def _unescape(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for escaped, char in table:
        text = text.replace(escaped, char)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A consumed output line. `display` is the log line GitHub shows instead (None: nothing)."""

    kind: CommandKind
    data: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)
    display: str | None = None
    annotations: tuple[Annotation, ...] = ()
    failed: bool = False


@dataclass(frozen=True, slots=True)
class _Raw:
    """A command line split into name, properties and data, before it is typed."""

    name: str
    properties: dict[str, str]
    data: str


def _split_v2(line: str) -> _Raw | None:
    text = line.lstrip()
    if not text.startswith("::"):
        return None
    end = text.find("::", 2)
    if end < 0:
        return None
    info = text[2:end]
    name, _, props = info.partition(" ")
    properties: dict[str, str] = {}
    for pair in props.strip().split(","):
        key, eq, value = pair.partition("=")
        if key and eq and value:
            properties[key.lower()] = _unescape(value, _PROPERTY_ESCAPES)
    return _Raw(name.lower(), properties, _unescape(text[end + 2 :], _DATA_ESCAPES))


def _split_legacy(line: str) -> _Raw | None:
    start = line.find("##[")
    if start < 0:
        return None
    end = line.find("]", start)
    if end < 0:
        return None
    name, _, props = line[start + 3 : end].partition(" ")
    properties: dict[str, str] = {}
    for pair in props.split(";"):
        key, eq, value = pair.partition("=")
        if key and eq and value:
            properties[key.lower()] = _unescape(value, _LEGACY_ESCAPES)
    return _Raw(name.lower(), properties, _unescape(line[end + 1 :], _LEGACY_ESCAPES))


class CommandParser:
    """One per step: recognises commands and keeps the stop-commands and echo state."""

    def __init__(
        self,
        *,
        debug: bool = False,
        allow_unsecure_commands: bool = False,
        workspace: str | None = None,
    ) -> None:
        self.debug = debug
        self.echo = debug
        self.allow_unsecure_commands = allow_unsecure_commands
        self.workspace = workspace
        self.stop_token: str | None = None

    def _recognise(self, line: str) -> _Raw | None:
        for split in (_split_v2, _split_legacy):
            raw = split(line)
            if raw is None:
                continue
            if self.stop_token is not None:
                if raw.name == self.stop_token.lower() and self.stop_token:
                    return raw
            elif raw.name in CommandKind.registered():
                return raw
        return None

    def parse_line(self, line: str) -> Command | None:
        """The command on `line`, or None when the line is ordinary output to print."""
        if "::" not in line and "##[" not in line:
            return None
        raw = self._recognise(line)
        if raw is None:
            return None
        if self.stop_token is not None:
            self.stop_token = None
            return Command(kind=CommandKind.RESUME_COMMANDS, data=raw.data, display=line)
        kind = CommandKind(raw.name)
        if kind is CommandKind.STOP_COMMANDS:
            self.stop_token = raw.data
            return Command(kind=kind, data=raw.data, display=line)
        echo = self.echo  # the state before the line: `::echo::on` itself is not echoed
        command = self._process(kind, raw, line)
        if echo and kind not in _OMIT_ECHO and command.display is None:
            command = _replace_display(command, line)
        return command

    def _process(self, kind: CommandKind, raw: _Raw, line: str) -> Command:
        props, data = raw.properties, raw.data
        if kind in _ISSUES:
            note = issue_annotation(_ISSUES[kind], data, props, workspace=self.workspace)
            return Command(kind=kind, data=data, properties=props, annotations=(note,))
        if kind is CommandKind.ADD_MASK:
            if not data.strip():
                warning = Annotation(
                    level=AnnotationLevel.WARNING,
                    message="Can't add secret mask for empty string in ##[add-mask] command.",
                )
                return Command(kind=kind, annotations=(warning,))
            display = "::add-mask::***" if self.echo else None
            return Command(kind=kind, data=data, display=display)
        if kind is CommandKind.DEBUG:
            display = f"##[debug]{data}" if self.debug else None
            return Command(kind=kind, data=data, display=display)
        if kind is CommandKind.GROUP:
            return Command(kind=kind, data=data, display=f"##[group]{data}")
        if kind is CommandKind.ENDGROUP:
            return Command(kind=kind, display="##[endgroup]")
        if kind is CommandKind.ECHO:
            return self._echo(kind, data, line)
        return self._named(kind, raw, line)

    def _echo(self, kind: CommandKind, data: str, line: str) -> Command:
        value = data.strip().upper()
        if value in ("ON", "OFF"):
            self.echo = value == "ON"
            return Command(kind=kind, data=data)
        problem = (
            "Parameter 'value' cannot be null or empty."
            if not data
            else "Invalid echo command value. Possible values can be: 'on', 'off'. "
            f"Current value is: '{data}'."
        )
        return _failure(kind, line, problem)

    def _named(self, kind: CommandKind, raw: _Raw, line: str) -> Command:
        """set-output, save-state, set-env, add-path, add-matcher, remove-matcher."""
        if kind in (CommandKind.SET_ENV, CommandKind.ADD_PATH) and not (
            self.allow_unsecure_commands
        ):
            return _failure(kind, line, DISABLED_MESSAGE.format(kind.value))
        if kind is CommandKind.ADD_PATH and not raw.data:
            return _failure(kind, line, "Parameter 'path' cannot be null or empty.")
        needs_name = kind in (CommandKind.SET_OUTPUT, CommandKind.SAVE_STATE, CommandKind.SET_ENV)
        if needs_name and not raw.properties.get("name"):
            return _failure(kind, line, f"Required field 'name' is missing in ##[{kind}] command.")
        notes: tuple[Annotation, ...] = ()
        if kind in (CommandKind.SET_OUTPUT, CommandKind.SAVE_STATE):
            notes = (
                Annotation(
                    level=AnnotationLevel.WARNING, message=DEPRECATED_MESSAGE.format(kind.value)
                ),
            )
        if kind is CommandKind.SET_ENV and raw.properties["name"].upper() == "NODE_OPTIONS":
            message = "Can't update NODE_OPTIONS environment variable using ::set-env:: command."
            notes = (Annotation(level=AnnotationLevel.ERROR, message=message),)
            return Command(kind=CommandKind.IGNORED, data=raw.data, annotations=notes)
        return Command(kind=kind, data=raw.data, properties=raw.properties, annotations=notes)


def _failure(kind: CommandKind, line: str, problem: str) -> Command:
    shown = kind.value if kind in _OMIT_ECHO else line
    notes = (
        Annotation(
            level=AnnotationLevel.ERROR,
            message=f"Unable to process command '{shown}' successfully.",
        ),
        Annotation(level=AnnotationLevel.ERROR, message=problem),
    )
    return Command(kind=kind, annotations=notes, failed=True)


def _replace_display(command: Command, line: str) -> Command:
    return Command(
        kind=command.kind,
        data=command.data,
        properties=command.properties,
        display=line,
        annotations=command.annotations,
        failed=command.failed,
    )
