"""A job's stored log lines as rows and foldable groups of escaped HTML (issue 15).

Called by `routes_logs` (a page of lines, search hits) and `logstream` (live lines). What
the store holds is the engine's console output (`conveyor.workflow.run.console`), workflow
commands already handled as GitHub does (`::add-mask::` shows `***` or nothing,
`::set-output` and the like are consumed, `::group::` became `▼ title`):

    ⭐ Run make                 a step starts            (row kind "step")
    Error: a.py:3: bad         an annotation            (kind "error", "warning", "notice")
      | output                 the step's output        (kind "out", the "  | " dropped)
    ▼ Install                  a group opens            (kind "group")
        | inside               output inside the group  (kind "out", grouped)
    ✅ Success - Run make [2s]  a step ends              (kind "meta")

A group lasts while its lines are indented and ends at the next step marker, unindented
output or the job's end line; annotations inside stay in it. Raw `::group::` /
`##[group]` … `::endgroup::` lines (a log written by another client) fold the same way.
Every text goes through `ansi.to_html` (escape first, then only its own spans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from conveyor.server.ui.ansi import SgrState, plain, to_html
from conveyor.store.ci_logs import LogLine

OUT, IN_GROUP = "  | ", "    | "
GROUP_OPEN = ("▼ ", "##[group]", "::group::")
GROUP_CLOSE = ("##[endgroup]", "::endgroup::")
STEP_START = "⭐ "
_LEVELS = {"Error": "error", "Warning": "warning", "Notice": "notice"}  # annotation lines
ENDS_GROUP = (STEP_START, "✅ ", "❌ ", "🚫 ", "⏭️ ", "• ", "🏁 ")


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One rendered line: its number in the job, its HTML, its kind and whether it sits
    inside a group (`out`, `step`, `meta`, `group` for a group's title line)."""

    number: int
    html: Markup
    kind: str
    grouped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A foldable group: its title row (None when it opened before the first line shown)
    and the rows inside."""

    head: Row | None
    rows: list[Row] = field(default_factory=list)


Block = Row | Group


@dataclass(slots=True)
class Grouper:
    """Turns lines into rows, one at a time, keeping the open group and colours between
    calls (a live stream feeds it batch after batch). `mask` is the service's masker."""

    mask: Callable[[str], str]
    mode: str = ""  # "" (no group), "engine" (indented lines) or "raw" (until ::endgroup::)
    sgr: SgrState = field(default_factory=SgrState)

    def feed(self, line: LogLine) -> Row | None:
        """The row of `line`; None for a `::endgroup::` line (GitHub does not show it)."""
        text = self.mask(line.text)
        opened = next((p for p in GROUP_OPEN if text.startswith(p)), None)
        if opened is not None:
            self.mode = "engine" if opened == GROUP_OPEN[0] else "raw"
            title = to_html(text[len(opened) :], self.sgr)
            return Row(number=line.number, html=title, kind="group")
        if text.startswith(GROUP_CLOSE):
            self.mode = ""
            return None
        return self._row(line.number, text)

    def _row(self, number: int, text: str) -> Row:
        if text.startswith(IN_GROUP):  # the engine indents a group's output
            return self._out(number, text[len(IN_GROUP) :], grouped=True)
        if self.mode == "engine" and (text.startswith(OUT) or text.startswith(ENDS_GROUP)):
            self.mode = ""
        if text.startswith(OUT):
            return self._out(number, text[len(OUT) :], grouped=bool(self.mode))
        kind = "step" if text.startswith(STEP_START) else _LEVELS.get(text.split(":", 1)[0], "meta")
        return Row(number=number, html=self._html(text), kind=kind, grouped=bool(self.mode))

    def _out(self, number: int, text: str, *, grouped: bool) -> Row:
        return Row(number=number, html=self._html(text), kind="out", grouped=grouped)

    def _html(self, text: str) -> Markup:
        return to_html(text, self.sgr)


def rows(lines: Iterable[LogLine], mask: Callable[[str], str]) -> list[Row]:
    """Every shown line of `lines` as a row (a fresh `Grouper`)."""
    grouper = Grouper(mask=mask)
    return [row for row in map(grouper.feed, lines) if row is not None]


def blocks(shown: Sequence[Row]) -> list[Block]:
    """Rows folded into groups: a group row opens one, grouped rows fill it; grouped rows
    before any title (a page that starts inside a group) get a group without a head."""
    out: list[Block] = []
    current: Group | None = None
    for row in shown:
        if row.kind == "group":
            current = Group(head=row)
            out.append(current)
        elif row.grouped:
            if current is None:
                current = Group(head=None)
                out.append(current)
            current.rows.append(row)
        else:
            current = None
            out.append(row)
    return out


def search_text(text: str, mask: Callable[[str], str]) -> Markup:
    """A search hit's line as HTML: masked, console prefix dropped, colours kept."""
    shown = mask(text)
    for prefix in (IN_GROUP, OUT, *GROUP_OPEN):
        if shown.startswith(prefix):
            shown = shown[len(prefix) :]
            break
    return to_html(shown)


__all__ = ["Block", "Group", "Grouper", "Row", "blocks", "plain", "rows", "search_text"]
