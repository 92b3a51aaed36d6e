"""The live console: prefixes, markers, groups, annotations, masking, colours, summary."""

from __future__ import annotations

import io
import threading

import pytest

from conveyor.app.summary_table import print_table
from conveyor.workflow.run.commands import Annotation, AnnotationLevel
from conveyor.workflow.run.console import (
    Console,
    SummaryRow,
    annotation_text,
    format_duration,
)
from conveyor.workflow.run.masking import Masker


def make(*, color: bool = False, debug: bool = False) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    masker = Masker()
    masker.add("s3cr3t")
    table = print_table if color else None
    return Console(stream, color=color, masker=masker, debug=debug, table=table), stream


def test_step_lifecycle_lines() -> None:
    console, out = make()
    console.step_start("CI/build (1, a)", "Run echo hi")
    console.line("CI/build (1, a)", "hi")
    console.step_end("CI/build (1, a)", "Run echo hi", "success", 0.0123)
    console.step_end("CI/build (1, a)", "Run false", "failure", 2.5)
    assert out.getvalue().splitlines() == [
        "[CI/build (1, a)] ⭐ Run echo hi",
        "[CI/build (1, a)]   | hi",
        "[CI/build (1, a)] ✅ Success - Run echo hi [12ms]",
        "[CI/build (1, a)] ❌ Failure - Run false [2.5s]",
    ]


def test_everything_printed_is_masked() -> None:
    console, out = make()
    console.line("j", "token s3cr3t")
    console.step_start("j", "Run echo s3cr3t")
    console.annotation("j", Annotation(level=AnnotationLevel.ERROR, message="bad s3cr3t"))
    console.message("run s3cr3t")
    console.summary([SummaryRow(job="j s3cr3t", result="success", duration=1)])
    assert "s3cr3t" not in out.getvalue()
    assert out.getvalue().count("***") == 5


def test_multi_line_text_is_prefixed_per_line() -> None:
    console, out = make()
    console.line("j", "a\nb\r\nc")
    assert out.getvalue().splitlines() == ["[j]   | a", "[j]   | b", "[j]   | c"]


def test_groups_are_marked_and_indented_until_endgroup() -> None:
    console, out = make()
    for text in ["before", "##[group]Install deps", "inside", "##[endgroup]", "after"]:
        console.line("j", text)
    assert out.getvalue().splitlines() == [
        "[j]   | before",
        "[j] ▼ Install deps",
        "[j]     | inside",
        "[j]   | after",
    ]


def test_group_state_is_per_job() -> None:
    console, out = make()
    console.line("a", "##[group]G")
    console.line("b", "outside")
    assert out.getvalue().splitlines()[-1] == "[b]   | outside"


@pytest.mark.parametrize(("debug", "shown"), [(False, []), (True, ["[j] Debug: detail"])])
def test_debug_lines_only_with_debug(debug: bool, shown: list[str]) -> None:
    console, out = make(debug=debug)
    console.line("j", "##[debug]detail")
    assert out.getvalue().splitlines() == shown


@pytest.mark.parametrize(
    ("note", "text"),
    [
        (Annotation(level=AnnotationLevel.ERROR, message="m"), "Error: m"),
        (Annotation(level=AnnotationLevel.WARNING, message="m", file="a.py"), "Warning: a.py: m"),
        (
            Annotation(level=AnnotationLevel.NOTICE, message="m", file="a.py", line=3),
            "Notice: a.py:3: m",
        ),
        (
            Annotation(
                level=AnnotationLevel.ERROR, message="m", file="a.py", line=3, col=7, title="T"
            ),
            "Error: a.py:3:7: T: m",
        ),
    ],
)
def test_annotation_text(note: Annotation, text: str) -> None:
    assert annotation_text(note) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0004, "0ms"),
        (0.25, "250ms"),
        (1.0, "1.0s"),
        (59.94, "59.9s"),
        (125, "2m05s"),
        (3725, "1h02m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_no_ansi_without_color_and_stable_colour_per_job_with_it() -> None:
    plain, plain_out = make()
    plain.line("CI/a", "x")
    assert "\x1b[" not in plain_out.getvalue()
    coloured, out = make(color=True)
    coloured.line("CI/a", "x")
    coloured.line("CI/a", "y")
    first, second = out.getvalue().splitlines()
    assert first.startswith("\x1b[") and first.split("[CI/a]")[0] == second.split("[CI/a]")[0]


def test_summary_table_aligned() -> None:
    console, out = make()
    console.summary(
        [
            SummaryRow(job="CI/build", result="success", duration=0.5),
            SummaryRow(job="CI/test (1, a)", result="failure", duration=61),
            SummaryRow(job="CI/deploy", result="skipped", duration=0),
        ]
    )
    assert out.getvalue().splitlines() == [
        "",
        "JOB             RESULT   DURATION",
        "CI/build        success  500ms",
        "CI/test (1, a)  failure  1m01s",
        "CI/deploy       skipped  0ms",
    ]


def test_summary_with_color_uses_rich_table() -> None:
    console, out = make(color=True)
    console.summary([SummaryRow(job="CI/[b]uild", result="success", duration=0.5)])
    text = out.getvalue()
    assert "CI/[b]uild" in text  # brackets are not taken as markup
    assert "success" in text and "500ms" in text


def test_parallel_writers_never_interleave_within_a_line() -> None:
    console, out = make()

    def writer(n: int) -> None:
        for i in range(300):
            console.line(f"job{n}", f"{n}-{i}-" + "x" * 200)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1200
    for line in lines:
        prefix, _, rest = line.partition("]   | ")
        n = prefix.removeprefix("[job")
        assert rest.startswith(f"{n}-") and rest.endswith("x" * 200)


def test_every_physical_line_gets_the_prefix() -> None:
    console, out = make()
    console.annotation("j", Annotation(level=AnnotationLevel.ERROR, message="bad\nthing"))
    console.step_start("j", "Run a\nb")
    assert out.getvalue().splitlines() == ["[j] Error: bad", "[j] thing", "[j] ⭐ Run a", "[j] b"]
