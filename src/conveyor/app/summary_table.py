"""The coloured summary table `conveyor run` prints on a terminal (rich).

`cmd_run` imports this module only when its output is a terminal and hands `print_table` to
`conveyor.workflow.run.console.Console` as its `table`; `warmserver` does so once at start so
that a warm child has rich loaded. Kept in `app/` because rich costs about a quarter of a
cold start's imports, which runs without a terminal never pay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TextIO

from rich.console import Console as RichConsole
from rich.table import Table
from rich.text import Text

from conveyor.workflow.run.console import SummaryRow, format_duration

_STYLES = {"success": "green", "failure": "red", "cancelled": "yellow", "skipped": "dim"}


def print_table(stream: TextIO, rows: Sequence[SummaryRow], mask: Callable[[str], str]) -> None:
    """Job, result and duration of every row; job names masked, never read as markup."""
    table = Table(show_edge=False, box=None, header_style="bold", pad_edge=False)
    for title in ("JOB", "RESULT", "DURATION"):
        table.add_column(title, justify="right" if title == "DURATION" else "left")
    for row in rows:
        result = str(row.result).lower()
        table.add_row(
            Text(mask(row.job)),
            Text(result, style=_STYLES.get(result, "")),
            format_duration(row.duration),
        )
    RichConsole(file=stream, force_terminal=True, highlight=False).print(table)
