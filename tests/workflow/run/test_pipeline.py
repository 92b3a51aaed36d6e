"""The step machinery together, as the engine wires it: a real process's output goes through
the CommandParser, `::add-mask::` feeds the Masker, and the Console prints masked lines."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

from conveyor.runners.host import HostRunner
from conveyor.workflow.run.commands import Annotation, CommandKind, CommandParser
from conveyor.workflow.run.console import Console
from conveyor.workflow.run.masking import Masker
from conveyor.workflow.run.shell import script_command

SCRIPT = """\
echo "before: s3cret-one"
echo "::add-mask::s3cret-one"
echo "after: s3cret-one"
echo "::group::Build"
echo "in group"
echo "::endgroup::"
echo "::error file=src/a.py,line=3::bad%0Athing" >&2
echo "::stop-commands::zz9"
echo "::warning::not a command now"
echo "::zz9::"
echo "::debug::hidden"
"""


def test_real_step_output_through_parser_masker_and_console(tmp_path: Path) -> None:
    masker = Masker()
    masker.add("run-level-secret")
    stream = io.StringIO()
    console = Console(stream, masker=masker)
    parser = CommandParser(workspace=str(tmp_path))
    annotations: list[Annotation] = []

    def on_output(line: str) -> None:
        command = parser.parse_line(line)
        if command is None:
            console.line("CI/build", line)
            return
        if command.kind is CommandKind.ADD_MASK:
            masker.add(command.data)
        annotations.extend(command.annotations)
        for note in command.annotations:
            console.annotation("CI/build", note)
        if command.display is not None:
            console.line("CI/build", command.display)

    argv = script_command(None, default_shell=None, script=SCRIPT, temp=tmp_path)

    async def go() -> int:
        runner = HostRunner()
        result = await runner.exec(
            argv,
            env={"PATH": os.environ["PATH"]},
            cwd=tmp_path,
            timeout=30,
            on_output=on_output,
        )
        await runner.cleanup()
        return result.exit_code

    assert asyncio.run(go()) == 0
    assert stream.getvalue().splitlines() == [
        "[CI/build]   | before: s3cret-one",  # masks apply from the add-mask on
        "[CI/build]   | after: ***",
        "[CI/build] ▼ Build",
        "[CI/build]     | in group",
        "[CI/build] Error: src/a.py:3: bad",
        "[CI/build] thing",
        "[CI/build]   | ::stop-commands::zz9",
        "[CI/build]   | ::warning::not a command now",
        "[CI/build]   | ::zz9::",
    ]
    assert [(a.level.value, a.file, a.line, a.message) for a in annotations] == [
        ("error", "src/a.py", 3, "bad\nthing")
    ]
