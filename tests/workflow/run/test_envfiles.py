"""GITHUB_OUTPUT/ENV/STATE/PATH parsing against the runner's rules (FileCommandManager.cs)."""

from __future__ import annotations

import pytest

from conveyor.workflow.run.envfiles import (
    EnvFileError,
    compose_path,
    extend_prepend_path,
    parse_env_file,
    parse_kv_file,
    parse_path_file,
)

KV_CASES = [
    ("empty file", "", {}),
    ("one pair", "a=1\n", {"a": "1"}),
    ("no final newline", "a=1", {"a": "1"}),
    ("value keeps later equals", "a=b=c\n", {"a": "b=c"}),
    ("empty value", "a=\n", {"a": ""}),
    ("blank lines skipped", "\n\na=1\n\n", {"a": "1"}),
    ("later wins", "a=1\na=2\n", {"a": "2"}),
    ("name not trimmed", "a =1\n", {"a ": "1"}),
    ("value not trimmed", "a= x \n", {"a": " x "}),
    ("heredoc", "a<<EOF\nx\ny\nEOF\n", {"a": "x\ny"}),
    ("heredoc empty", "a<<EOF\nEOF\n", {"a": ""}),
    ("heredoc keeps blank lines", "a<<EOF\n\nx\n\nEOF\n", {"a": "\nx\n"}),
    ("heredoc then pair", "a<<EOF\nx\nEOF\nb=2\n", {"a": "x", "b": "2"}),
    ("heredoc value with equals", "a<<EOF\nk=v\nEOF\n", {"a": "k=v"}),
    ("heredoc delimiter needs whole line", "a<<EOF\nEOF \nEOF\n", {"a": "EOF "}),
    ("equals before heredoc marker", "a=x<<y\n", {"a": "x<<y"}),
    ("heredoc marker before equals", "a<<E=F\nv\nE=F\n", {"a": "v"}),
    ("crlf tolerated", "a=1\r\nb<<EOF\r\nx\r\nEOF\r\n", {"a": "1", "b": "x"}),
    ("delimiter at end without newline", "a<<EOF\nx\nEOF", {"a": "x"}),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in KV_CASES], ids=[c[0] for c in KV_CASES]
)
def test_parse_kv_file(text: str, expected: dict[str, str]) -> None:
    assert parse_kv_file(text, path="GITHUB_OUTPUT") == expected


ERROR_CASES = [
    ("empty name", "a=1\n=x\n", 2, "Name must not be empty", {"a": "1"}),
    ("empty heredoc name", "<<EOF\nx\nEOF\n", 1, "delimiter must not be empty", {}),
    ("empty delimiter", "a<<\nx\n", 1, "delimiter must not be empty", {}),
    ("unclosed heredoc", "a=1\nb<<EOF\nx\n", 2, "Matching delimiter not found 'EOF'", {"a": "1"}),
    ("neither form", "a=1\nbogus\n", 2, "Invalid format 'bogus'", {"a": "1"}),
    ("whitespace line", "  \n", 1, "Invalid format '  '", {}),
]


@pytest.mark.parametrize(
    ("text", "line", "message", "partial"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_parse_kv_file_errors_name_file_and_line(
    text: str, line: int, message: str, partial: dict[str, str]
) -> None:
    with pytest.raises(EnvFileError) as info:
        parse_kv_file(text, path="/tmp/set_output_x")
    error = info.value
    assert message in error.message
    assert error.location is not None
    assert (error.location.file, error.location.line) == ("/tmp/set_output_x", line)
    assert str(error).startswith(f"/tmp/set_output_x:{line}: ")
    assert error.values == partial


def test_env_file_blocks_node_options_without_failing() -> None:
    result = parse_env_file("A=1\nNODE_OPTIONS=--inspect\nnode_options<<E\nx\nE\n", path="f")
    assert result.values == {"A": "1"}
    assert result.errors == (
        "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.",
        "Can't store node_options output parameter using '$GITHUB_ENV' command.",
    )


PATH_CASES = [
    ("empty", "", []),
    ("lines in order", "/a\n/b\n", ["/a", "/b"]),
    ("blank lines skipped", "\n/a\n\n/b", ["/a", "/b"]),
    ("crlf and cr", "/a\r\n/b\r/c\n", ["/a", "/b", "/c"]),
    ("spaces kept", " /a b \n", [" /a b "]),
    ("only cr/lf break lines", "/a\x0c/b\u2028c\n", ["/a\x0c/b\u2028c"]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in PATH_CASES], ids=[c[0] for c in PATH_CASES]
)
def test_parse_path_file(text: str, expected: list[str]) -> None:
    assert parse_path_file(text) == expected


def test_last_path_line_comes_first_and_later_steps_before_earlier() -> None:
    prepend = extend_prepend_path((), ["/one", "/two"])  # step 1 writes two lines
    assert compose_path(prepend, "/usr/bin") == "/two:/one:/usr/bin"
    prepend = extend_prepend_path(prepend, ["/three", "/one"])  # step 2; /one moves up
    assert prepend == ("/two", "/three", "/one")
    assert compose_path(prepend, "/usr/bin") == "/one:/three:/two:/usr/bin"


def test_compose_path_without_base() -> None:
    assert compose_path(("/a", "/b"), "") == "/b:/a"
