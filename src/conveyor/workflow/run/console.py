"""Live output of `conveyor run`: one prefixed line per log line, step markers, a summary.

Built once per run by `conveyor.app.cmd_run` (on stderr with `--json`, else stdout) and shared
by every job through the session; jobs call `line`, `step_start`, `step_end`, `annotation`,
and the command ends with `summary`. Every method masks its text with the run's `Masker`
before printing and writes whole lines under a lock, so lines of parallel jobs (threads or
tasks) never interleave mid-line.

What a line looks like (colours only when `color`, one stable colour per job):

    [CI/build (1, a)] ⭐ Run echo hi
    [CI/build (1, a)]   | hi
    [CI/build (1, a)] ▼ Install            (::group::Install; lines inside are indented)
    [CI/build (1, a)] Error: src/a.py:3:5: Missing semicolon
    [CI/build (1, a)] ✅ Success - Run echo hi [12ms]

The coloured summary table is the `table` the CLI hands over (`conveyor.app.summary_table`).

Lines the step executor passes through from `Command.display` (`##[group]…`, `##[endgroup]`,
`##[debug]…`) are rendered here, so the executor needs no knowledge of presentation.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from conveyor.workflow.run.commands import Annotation
from conveyor.workflow.run.masking import Masker

_RESET = "\x1b[0m"
_PALETTE = (
    "\x1b[36m",  # cyan
    "\x1b[35m",  # magenta
    "\x1b[33m",  # yellow
    "\x1b[34m",  # blue
    "\x1b[32m",  # green
    "\x1b[96m",  # bright cyan
    "\x1b[95m",  # bright magenta
    "\x1b[93m",  # bright yellow
    "\x1b[94m",  # bright blue
    "\x1b[92m",  # bright green
)
_RESULT_COLORS = {
    "success": "\x1b[32m",
    "failure": "\x1b[31m",
    "cancelled": "\x1b[33m",
    "skipped": "\x1b[90m",
}
_RESULT_MARKS = {"success": "✅", "failure": "❌", "cancelled": "🚫", "skipped": "⏭️"}
_LEVEL_COLORS = {"error": "\x1b[31m", "warning": "\x1b[33m", "notice": "\x1b[36m"}
_DIM = "\x1b[90m"


def format_duration(seconds: float) -> str:
    """Short human duration: `850ms`, `12.3s`, `2m05s`, `1h02m`."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def annotation_text(note: Annotation) -> str:
    """`Error: file:line:col: title: message`, as the runner's log shows an annotation."""
    where = ""
    if note.file:
        where = note.file
        if note.line is not None:
            where += f":{note.line}"
            if note.col is not None:
                where += f":{note.col}"
        where += ": "
    title = f"{note.title}: " if note.title else ""
    return f"{note.level.value.capitalize()}: {where}{title}{note.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryRow:
    """One line of the final table."""

    job: str
    result: str
    duration: float


#: prints the coloured summary table to the stream (job names through the masking function);
#: given by `conveyor.app` when the output is a terminal, so rich loads only then
SummaryTable = Callable[[TextIO, Sequence[SummaryRow], Callable[[str], str]], None]


class Console:
    """The terminal side of a run. Thread- and task-safe; all text is masked first."""

    def __init__(
        self,
        stream: TextIO,
        *,
        color: bool = False,
        masker: Masker | None = None,
        debug: bool = False,
        table: SummaryTable | None = None,
    ) -> None:
        self.stream = stream
        self.color = color
        self.table = table  # the coloured summary (`conveyor.app.summary_table`, on a tty)
        self.masker = masker if masker is not None else Masker()
        self.debug = debug
        self._lock = threading.Lock()
        self._in_group: dict[str, bool] = {}
        self._prefixes: dict[str, str] = {}

    # -- building blocks ---------------------------------------------------------------

    def _prefix(self, job: str) -> str:
        cached = self._prefixes.get(job)
        if cached is None:
            cached = f"[{job}]"
            if self.color:
                tint = _PALETTE[zlib.crc32(job.encode()) % len(_PALETTE)]
                cached = f"{tint}{cached}{_RESET}"
            self._prefixes[job] = cached
        return cached

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def _emit(self, job: str | None, texts: Sequence[str]) -> None:
        mask = self.masker.mask
        head = f"{self._prefix(job)} " if job is not None else ""
        out = "".join(f"{head}{part}\n" for text in texts for part in mask(text).split("\n"))
        with self._lock:
            self.stream.write(out)
            self.stream.flush()

    # -- what jobs call ------------------------------------------------------------------

    def line(self, job: str, text: str) -> None:
        """One output line of a job's step (a multi-line text prints as several lines)."""
        rendered: list[str] = []
        for part in text.split("\n"):
            shown = self._render(job, part.removesuffix("\r"))
            if shown is not None:
                rendered.append(shown)
        if rendered:
            self._emit(job, rendered)

    def _render(self, job: str, text: str) -> str | None:
        if text.startswith("##["):
            if text.startswith("##[group]"):
                self._in_group[job] = True
                return self._paint("\x1b[1m", f"▼ {text[9:]}")
            if text.startswith("##[endgroup]"):
                self._in_group[job] = False
                return None
            if text.startswith("##[debug]"):
                return self._paint(_DIM, f"Debug: {text[9:]}") if self.debug else None
        indent = "  " if self._in_group.get(job) else ""
        return f"{indent}  | {text}" if indent else f"  | {text}"

    def step_start(self, job: str, name: str) -> None:
        """The step marker before a step runs."""
        self._in_group[job] = False
        self._emit(job, [self._paint("\x1b[1m", f"⭐ {name}")])

    def step_end(self, job: str, name: str, conclusion: str, duration: float) -> None:
        """The step marker after it ran: result and duration."""
        self._in_group[job] = False
        result = str(conclusion).lower()
        mark = _RESULT_MARKS.get(result, "•")
        label = result.capitalize()
        text = f"{mark} {label} - {name} [{format_duration(duration)}]"
        self._emit(job, [self._paint(_RESULT_COLORS.get(result, ""), text)])

    def annotation(self, job: str, note: Annotation) -> None:
        """An `::error::`/`::warning::`/`::notice::` (or a runner-raised issue) as a line."""
        text = annotation_text(note)
        self._emit(job, [self._paint(_LEVEL_COLORS.get(note.level.value, ""), text)])

    def job_end(self, job: str, result: str, duration: float) -> None:
        """The job's closing line."""
        result = str(result).lower()
        text = f"🏁 Job {result} [{format_duration(duration)}]"
        self._emit(job, [self._paint(_RESULT_COLORS.get(result, ""), text)])

    def message(self, text: str) -> None:
        """A line of the run itself (no job prefix), e.g. where the run directory is."""
        self._emit(None, text.split("\n"))

    def summary(self, rows: Sequence[SummaryRow]) -> None:
        """The final table: job, result, duration."""
        if not rows:
            return
        if self.color and self.table is not None:
            self._table_summary(rows, self.table)
            return
        header = ("JOB", "RESULT", "DURATION")
        cells = [(row.job, row.result, format_duration(row.duration)) for row in rows]
        widths = [max(len(r[i]) for r in [header, *cells]) for i in range(2)]
        lines = [
            f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in [header, *cells]
        ]
        self._emit(None, ["", *lines])

    def _table_summary(self, rows: Sequence[SummaryRow], table: SummaryTable) -> None:
        with self._lock:
            self.stream.write("\n")
            table(self.stream, rows, self.masker.mask)
            self.stream.flush()
