"""The log renderers alone (issue 15): ANSI SGR to classes with the text escaped first,
folding of engine and raw groups, step markers to steps with durations."""

from __future__ import annotations

import pytest

from conveyor.server.ui.ansi import SgrState, nearest, plain, to_html, xterm256
from conveyor.server.ui.logsteps import StepView, from_markers, merged, seconds
from conveyor.server.ui.logtext import Group, Row, blocks, rows
from conveyor.store.ci_logs import LogLine


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain <b>&", "plain &lt;b&gt;&amp;"),
        ("\x1b[31mred\x1b[0m", '<span class="ansi-fg-1">red</span>'),
        ("\x1b[91mbright\x1b[39m off", '<span class="ansi-fg-9">bright</span> off'),
        (
            "\x1b[1;4;42mx\x1b[22my",
            '<span class="ansi-bold ansi-underline ansi-bg-2">x</span>'
            '<span class="ansi-underline ansi-bg-2">y</span>',
        ),
        ("\x1b[38;5;196mred256", '<span class="ansi-fg-1">red256</span>'),
        ("\x1b[38;2;0;0;250mblue", '<span class="ansi-fg-4">blue</span>'),
        ("\x1b[48;5;4mbg", '<span class="ansi-bg-4">bg</span>'),
        ("\x1b[2K\x1b[1Gprogress\x1b]0;title\x07 done", "progress done"),
        ("\x1b[38;5mbroken", "broken"),  # a malformed colour is ignored, the text kept
        (
            "\x1b[31m<script>alert(1)</script>",
            '<span class="ansi-fg-1">&lt;script&gt;alert(1)&lt;/script&gt;</span>',
        ),
        ('\x1b[32m" onmouseover="x', '<span class="ansi-fg-2">&#34; onmouseover=&#34;x</span>'),
    ],
)
def test_ansi_sgr_becomes_classes_on_escaped_text(text: str, html: str) -> None:
    assert str(to_html(text)) == html


def test_colours_carry_over_to_the_next_line_until_reset() -> None:
    state = SgrState()
    assert str(to_html("\x1b[33mstart", state)) == '<span class="ansi-fg-3">start</span>'
    assert str(to_html("still", state)) == '<span class="ansi-fg-3">still</span>'
    assert str(to_html("\x1b[0mplain", state)) == "plain"


def test_extended_colours_map_to_the_nearest_basic_one() -> None:
    assert [xterm256(i) for i in (0, 9, 15)] == [0, 9, 15]
    assert xterm256(232) == 0 and xterm256(255) == 7  # the grey ramp's ends (8 … 238)
    assert xterm256(196) == 1 and xterm256(21) == 4  # pure red and blue of the cube
    assert nearest(250, 250, 250) == 15 and nearest(0, 0, 0) == 0
    assert plain("\x1b[1mbold\x1b[0m text") == "bold text"


def _lines(*texts: str) -> list[LogLine]:
    return [LogLine(number=n, job="j", text=t) for n, t in enumerate(texts, 1)]


def _shape(found: list[Row | Group]) -> list[object]:
    return [
        [b.head.number if b.head else None, [r.number for r in b.rows]]
        if isinstance(b, Group)
        else b.number
        for b in found
    ]


def test_engine_groups_hold_their_indented_lines_and_annotations() -> None:
    lines = _lines("⭐ Run", "▼ Deps", "    | a", "Error: x", "    | b", "  | out", "▼ G2",
                   "    | c", "✅ Success - Run [1s]")  # fmt: skip
    assert _shape(blocks(rows(lines, str))) == [1, [2, [3, 4, 5]], 6, [7, [8]], 9]


def test_raw_groups_fold_until_endgroup_which_is_not_shown() -> None:
    lines = _lines("::group::Raw <title>", "inside", "##[endgroup]", "after")
    shown = rows(lines, str)
    assert _shape(blocks(shown)) == [[1, [2]], 4]
    assert str(shown[0].html) == "Raw &lt;title&gt;"


def test_a_page_that_starts_inside_a_group_gets_a_group_without_title() -> None:
    lines = [LogLine(number=n, job="j", text=t) for n, t in ((7, "    | a"), (8, "  | b"))]
    assert _shape(blocks(rows(lines, str))) == [[None, [7]], 8]


def test_lines_are_masked_before_rendering() -> None:
    [row] = rows(_lines("  | token=hunter2"), lambda t: t.replace("hunter2", "***"))
    assert str(row.html) == "token=***"


@pytest.mark.parametrize(
    ("took", "value"),
    [("850ms", 0.85), ("12.3s", 12.3), ("2m05s", 125.0), ("1h02m", 3720.0), ("soon", None)],
)
def test_durations_of_step_markers_read_back(took: str, value: float | None) -> None:
    assert seconds(took) == value


def test_steps_from_markers_and_from_the_runners_report() -> None:
    markers = from_markers(_lines("⭐ A", "❌ Failure - A [1.5s]", "⭐ B"), running=True)
    assert markers == [
        StepView(name="A", conclusion="failure", duration=1.5, line=1),
        StepView(name="B", conclusion="in_progress", line=3),
    ]
    reported = [{"name": "A", "conclusion": "failure"}, {"name": "C", "conclusion": "skipped"}]
    assert merged(reported, markers) == [
        StepView(name="A", conclusion="failure", duration=1.5, line=1),
        StepView(name="C", conclusion="skipped"),
    ]
