"""Both linters over one corpus: GitHub's parser (one node process) and Conveyor's checks.

`parser_verdicts` sends every sample to `driver.mjs` as JSON lines and reads one answer per
sample; `conveyor_verdict` runs `check_workflow` (what `conveyor lint` runs per file, with no
local reusable workflows to read). A `Verdict` keeps whether the file is rejected and its
first error line (the smallest line any error names; GitHub's parser reports errors in its
own order, Conveyor sorts them). `compare` pairs them into `Outcome`s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.workflow.schema.problems import Severity
from conveyor.workflow.schema.validate import check_workflow
from tests.workflow.oracle.corpus import Sample
from tests.workflow.oracle.schema_gen import DIST

DRIVER = Path(__file__).with_name("driver.mjs")
PARSER_DIST = DIST / "workflow-parser" / "dist"
NODE = shutil.which("node")
FILE = ".github/workflows/sample.yml"


def parser_available() -> bool:
    return NODE is not None and (PARSER_DIST / "index.js").is_file()


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    rejected: bool
    line: int | None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    sample: Sample
    parser: Verdict
    conveyor: Verdict

    @property
    def same_decision(self) -> bool:
        return self.parser.rejected == self.conveyor.rejected

    @property
    def same_line(self) -> bool:
        """Same decision and first line (vacuous when GitHub's parser names no line)."""
        if not self.same_decision:
            return False
        return self.parser.line is None or self.parser.line == self.conveyor.line


def _first_line(lines: Sequence[int]) -> int | None:
    placed = [line for line in lines if line > 0]
    return min(placed) if placed else None


def parser_verdicts(samples: Sequence[Sample], timeout: float = 600) -> list[Verdict]:
    """GitHub's answers, in order, from one node process."""
    assert NODE is not None
    stdin = "".join(
        json.dumps({"id": n, "name": FILE, "text": s.text}) + "\n" for n, s in enumerate(samples)
    )
    done = subprocess.run(
        [NODE, str(DRIVER), str(PARSER_DIST)],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines() if line]
    assert len(answers) == len(samples), done.stderr[-2000:]
    verdicts = []
    for answer in answers:
        if "crash" in answer:
            raise RuntimeError(f"the parser driver crashed: {answer['crash']}")
        errors = answer["errors"]
        verdicts.append(
            Verdict(
                rejected=bool(errors),
                line=_first_line([e["line"] for e in errors]),
                messages=tuple(f"{e['line']}:{e['col']}: {e['message']}" for e in errors),
            )
        )
    return verdicts


def conveyor_verdict(sample: Sample) -> Verdict:
    checked = check_workflow(sample.text, FILE, resolve=lambda _uses: None)
    errors = [p for p in checked.problems if p.severity == Severity.ERROR]
    return Verdict(
        rejected=bool(errors),
        line=_first_line([p.location.line for p in errors]),
        messages=tuple(f"{p.location.line}:{p.location.col}: {p.message}" for p in errors),
    )


def compare(samples: Sequence[Sample]) -> list[Outcome]:
    parsed = parser_verdicts(samples)
    return [
        Outcome(sample=s, parser=p, conveyor=conveyor_verdict(s))
        for s, p in zip(samples, parsed, strict=True)
    ]
