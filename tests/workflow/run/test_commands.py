"""Workflow commands: parsing, escaping and per-step state, as GitHub's runner does them."""

from __future__ import annotations

import pytest

from conveyor.workflow.run.commands import (
    DEPRECATED_MESSAGE,
    DISABLED_MESSAGE,
    Annotation,
    AnnotationLevel,
    Command,
    CommandKind,
    CommandParser,
)

NOT_COMMANDS = [
    ("plain text", "hello world"),
    ("unknown command", "::frobnicate::x"),
    ("no closing separator", "::error file=a"),
    ("text before", "say ::error::x"),
    ("single colons", ":error:x"),
    ("empty", ""),
    ("resume token without stop", "::tok::"),
    ("legacy unknown", "##[frob]x"),
]


@pytest.mark.parametrize("line", [c[1] for c in NOT_COMMANDS], ids=[c[0] for c in NOT_COMMANDS])
def test_ordinary_lines_are_not_commands(line: str) -> None:
    assert CommandParser().parse_line(line) is None


# (id, line, kind, data, properties)
PARSE_CASES = [
    ("data only", "::debug::hello", CommandKind.DEBUG, "hello", {}),
    ("leading whitespace", "   \t::debug::x", CommandKind.DEBUG, "x", {}),
    ("name case-insensitive", "::DEBUG::x", CommandKind.DEBUG, "x", {}),
    ("data keeps spaces and colons", "::debug:: a :: b ", CommandKind.DEBUG, " a :: b ", {}),
    ("data escapes", "::debug::a%0Ab%0Dc%25d", CommandKind.DEBUG, "a\nb\rc%d", {}),
    ("data does not unescape %3A", "::debug::a%3Ab%2Cc", CommandKind.DEBUG, "a%3Ab%2Cc", {}),
    ("ordered unescape %250A", "::debug::%250A", CommandKind.DEBUG, "%0A", {}),
    (
        "property escapes",
        "::warning title=a%3Ab%2Cc%0Ad%25e%253A::m",
        CommandKind.WARNING,
        "m",
        {"title": "a:b,c\nd%e%3A"},
    ),
    (
        "properties split on commas, key lower-cased",
        "::error File=a.py,LINE=3,endLine=4::m",
        CommandKind.ERROR,
        "m",
        {"file": "a.py", "line": "3", "endline": "4"},
    ),
    (
        "value keeps later equals",
        "::notice title=a=b::m",
        CommandKind.NOTICE,
        "m",
        {"title": "a=b"},
    ),
    (
        "empty pairs dropped",
        "::notice title=,=x,,file=f::m",
        CommandKind.NOTICE,
        "m",
        {"file": "f"},
    ),
    ("legacy form", "##[warning file=a;line=2]m%3Bx", CommandKind.WARNING, "m;x", {}),
    ("legacy anywhere in line", "out ##[debug]x%5D", CommandKind.DEBUG, "x]", {}),
]


@pytest.mark.parametrize(
    ("line", "kind", "data", "properties"),
    [c[1:] for c in PARSE_CASES],
    ids=[c[0] for c in PARSE_CASES],
)
def test_parse(line: str, kind: CommandKind, data: str, properties: dict[str, str]) -> None:
    command = CommandParser(debug=True).parse_line(line)
    assert command is not None
    assert command.kind is kind
    assert command.data == data
    if kind in (CommandKind.ERROR, CommandKind.WARNING, CommandKind.NOTICE):
        (note,) = command.annotations
        assert note.message == data
        if "title" in properties:
            assert note.title == properties["title"]
    else:
        assert dict(command.properties) == properties


def test_legacy_properties_use_semicolons() -> None:
    command = CommandParser().parse_line("##[error file=a.py;line=2;col=1]boom")
    assert command is not None
    assert command.annotations == (
        Annotation(level=AnnotationLevel.ERROR, message="boom", file="a.py", line=2, col=1),
    )


@pytest.mark.parametrize("level", ["error", "warning", "notice"])
def test_issue_commands_become_annotations_with_all_properties(level: str) -> None:
    line = f"::{level} file=src/a.py,line=3,endLine=5,col=2,endColumn=9,title=Bad thing::msg"
    command = CommandParser().parse_line(line)
    assert command == Command(
        kind=CommandKind(level),
        data="msg",
        properties={
            "file": "src/a.py",
            "line": "3",
            "endline": "5",
            "col": "2",
            "endcolumn": "9",
            "title": "Bad thing",
        },
        annotations=(
            Annotation(
                level=AnnotationLevel(level),
                message="msg",
                file="src/a.py",
                line=3,
                end_line=5,
                col=2,
                end_column=9,
                title="Bad thing",
            ),
        ),
    )
    assert command.annotations[0].as_dict() == {
        "level": level,
        "message": "msg",
        "file": "src/a.py",
        "line": 3,
        "endLine": 5,
        "col": 2,
        "endColumn": 9,
        "title": "Bad thing",
    }


def test_issue_without_properties_and_bad_numbers() -> None:
    command = CommandParser().parse_line("::error line=x::m")
    assert command is not None
    assert command.annotations[0].as_dict() == {"level": "error", "message": "m"}


def test_issue_file_made_relative_to_workspace() -> None:
    parser = CommandParser(workspace="/w/repo")
    inside = parser.parse_line("::error file=/w/repo/src/a.py::m")
    outside = parser.parse_line("::error file=/etc/passwd::m")
    assert inside is not None and outside is not None
    assert inside.annotations[0].file == "src/a.py"
    assert outside.annotations[0].file == "/etc/passwd"


def test_issue_commands_never_echo() -> None:
    parser = CommandParser(debug=True)
    command = parser.parse_line("::error::x")
    assert command is not None and command.display is None


def test_add_mask() -> None:
    command = CommandParser().parse_line("::add-mask::s3cr3t")
    assert command == Command(kind=CommandKind.ADD_MASK, data="s3cr3t")


def test_add_mask_echo_shows_stars_only() -> None:
    command = CommandParser(debug=True).parse_line("::add-mask::s3cr3t")
    assert command is not None and command.display == "::add-mask::***"


def test_add_mask_of_blank_warns() -> None:
    command = CommandParser().parse_line("::add-mask::  ")
    assert command is not None
    assert command.data == ""
    assert command.annotations == (
        Annotation(
            level=AnnotationLevel.WARNING,
            message="Can't add secret mask for empty string in ##[add-mask] command.",
        ),
    )
    assert not command.failed


def test_group_and_endgroup_display_markers() -> None:
    parser = CommandParser()
    group = parser.parse_line("::group::Build%0Astuff")
    end = parser.parse_line("::endgroup::")
    assert group == Command(
        kind=CommandKind.GROUP, data="Build\nstuff", display="##[group]Build\nstuff"
    )
    assert end == Command(kind=CommandKind.ENDGROUP, display="##[endgroup]")


@pytest.mark.parametrize(("debug", "display"), [(False, None), (True, "##[debug]msg")])
def test_debug_shown_only_with_step_debug(debug: bool, display: str | None) -> None:
    command = CommandParser(debug=debug).parse_line("::debug::msg")
    assert command is not None and command.display == display


def test_stop_commands_until_token() -> None:
    parser = CommandParser()
    stop = parser.parse_line("::stop-commands::pause-42")
    assert stop == Command(
        kind=CommandKind.STOP_COMMANDS, data="pause-42", display="::stop-commands::pause-42"
    )
    assert parser.parse_line("::error::ignored") is None
    assert parser.parse_line("::add-mask::ignored") is None
    assert parser.parse_line("##[error]ignored") is None
    resume = parser.parse_line("::PAUSE-42::")
    assert resume is not None and resume.kind is CommandKind.RESUME_COMMANDS
    assert resume.display == "::PAUSE-42::"
    again = parser.parse_line("::error::seen")
    assert again is not None and again.kind is CommandKind.ERROR
    assert parser.parse_line("::pause-42::") is None  # the token is no longer special


def test_stop_commands_token_may_be_a_command_name() -> None:
    parser = CommandParser()
    parser.parse_line("::stop-commands::error")
    resume = parser.parse_line("::error::x")
    assert resume is not None and resume.kind is CommandKind.RESUME_COMMANDS


def test_stop_commands_with_empty_token_never_resumes() -> None:
    parser = CommandParser()
    parser.parse_line("::stop-commands::")
    assert parser.parse_line("::::") is None
    assert parser.parse_line("::error::x") is None


def test_echo_on_off() -> None:
    parser = CommandParser()
    first = parser.parse_line("::set-output name=a::1")
    assert first is not None and first.display is None
    on = parser.parse_line("::echo::on")
    assert on is not None and on.display is None  # echo was off when it was read
    shown = parser.parse_line("::set-output name=b::2")
    assert shown is not None and shown.display == "::set-output name=b::2"
    off = parser.parse_line("::echo:: OFF ")
    assert off is not None and off.display == "::echo:: OFF "  # echo was on
    hidden = parser.parse_line("::set-output name=c::3")
    assert hidden is not None and hidden.display is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            "::echo::maybe",
            "Invalid echo command value. Possible values can be: 'on', 'off'. "
            "Current value is: 'maybe'.",
        ),
        ("::echo::", "Parameter 'value' cannot be null or empty."),
        ("::set-output::v", "Required field 'name' is missing in ##[set-output] command."),
        ("::save-state x=1::v", "Required field 'name' is missing in ##[save-state] command."),
        ("::set-env name=A::b", DISABLED_MESSAGE.format("set-env")),
        ("::add-path::/opt/bin", DISABLED_MESSAGE.format("add-path")),
    ],
)
def test_failing_commands_fail_the_step_with_githubs_messages(line: str, problem: str) -> None:
    command = CommandParser().parse_line(line)
    assert command is not None
    assert command.failed
    assert [note.message for note in command.annotations] == [
        f"Unable to process command '{line}' successfully.",
        problem,
    ]
    assert all(note.level is AnnotationLevel.ERROR for note in command.annotations)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("set-output", CommandKind.SET_OUTPUT), ("save-state", CommandKind.SAVE_STATE)],
)
def test_set_output_and_save_state_still_work_with_deprecation_warning(
    name: str, kind: CommandKind
) -> None:
    command = CommandParser().parse_line(f"::{name} name=result::a%0Ab")
    assert command is not None
    assert (command.kind, command.properties["name"], command.data) == (kind, "result", "a\nb")
    assert not command.failed
    assert command.annotations == (
        Annotation(level=AnnotationLevel.WARNING, message=DEPRECATED_MESSAGE.format(name)),
    )


def test_set_env_and_add_path_when_unsecure_commands_allowed() -> None:
    parser = CommandParser(allow_unsecure_commands=True)
    set_env = parser.parse_line("::set-env name=GREETING::hi")
    add_path = parser.parse_line("::add-path::/opt/bin")
    assert set_env == Command(kind=CommandKind.SET_ENV, data="hi", properties={"name": "GREETING"})
    assert add_path == Command(kind=CommandKind.ADD_PATH, data="/opt/bin")


def test_set_env_node_options_is_refused_even_when_allowed() -> None:
    command = CommandParser(allow_unsecure_commands=True).parse_line(
        "::set-env name=NODE_OPTIONS::--inspect"
    )
    assert command is not None
    assert command.kind is CommandKind.IGNORED
    assert not command.failed
    assert command.annotations[0].message == (
        "Can't update NODE_OPTIONS environment variable using ::set-env:: command."
    )


def test_matcher_commands_are_consumed() -> None:
    parser = CommandParser()
    add = parser.parse_line("::add-matcher::.github/m.json")
    remove = parser.parse_line("::remove-matcher owner=eslint::")
    assert add is not None and add.kind is CommandKind.ADD_MATCHER
    assert remove is not None and remove.properties == {"owner": "eslint"}
