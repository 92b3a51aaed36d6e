"""How often `conveyor lint` agrees with GitHub's parser on workflow files someone else wrote.

Run: `.venv/bin/python bench/lint_real_workflows.py DIR [--show N]`. Reads every `*.yml` and
`*.yaml` file under DIR (nothing is fetched and nothing is kept: bring your own files, e.g.
workflows copied from public repositories into a temporary directory), runs GitHub's parser
(npm @actions/workflow-parser, via `tests/workflow/oracle/driver.mjs`) over all of them in one node
process and Conveyor's checks (what `conveyor lint` runs) in this one, and prints:

- how many files each side accepts and rejects,
- agreement on accept/reject and on the first error line (the smallest line any error names),
- every disagreement: the file, and the first messages of both sides.

Each file is checked alone, as GitHub's parser checks it: a job calling a local reusable
workflow (`uses: ./.github/workflows/x.yml`) is not checked against the called file, since
the files around it were not brought along (`conveyor lint` in a checkout does check it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests.workflow.oracle package

from tests.workflow.oracle.agreement import rates
from tests.workflow.oracle.corpus import Sample
from tests.workflow.oracle.oracle import FILE, Outcome, Verdict, parser_available, parser_verdicts

from conveyor.workflow.schema.problems import Severity
from conveyor.workflow.schema.validate import check_workflow


def load(directory: Path) -> list[Sample]:
    files = sorted(p for p in directory.rglob("*") if p.suffix in {".yml", ".yaml"})
    return [
        Sample(name=str(p.relative_to(directory)), kind="real", text=p.read_text(errors="replace"))
        for p in files
        if p.is_file()
    ]


def conveyor_verdict(sample: Sample) -> Verdict:
    """What `conveyor lint` says of the file alone (no called workflows to read)."""
    checked = check_workflow(sample.text, FILE)
    errors = [p for p in checked.problems if p.severity == Severity.ERROR]
    lines = [p.location.line for p in errors if p.location.line > 0]
    return Verdict(
        rejected=bool(errors),
        line=min(lines) if lines else None,
        messages=tuple(f"{p.location.line}:{p.location.col}: {p.message}" for p in errors),
    )


def compare(samples: list[Sample]) -> list[Outcome]:
    parsed = parser_verdicts(samples)
    return [
        Outcome(sample=s, parser=p, conveyor=conveyor_verdict(s))
        for s, p in zip(samples, parsed, strict=True)
    ]


def table(outcomes: list[Outcome]) -> str:
    parser_rejects = sum(o.parser.rejected for o in outcomes)
    conveyor_rejects = sum(o.conveyor.rejected for o in outcomes)
    total = len(outcomes)
    both_reject = sum(o.parser.rejected and o.conveyor.rejected for o in outcomes)
    rows = [
        ("files", total, ""),
        ("GitHub's parser accepts / rejects", total - parser_rejects, parser_rejects),
        ("Conveyor accepts / rejects", total - conveyor_rejects, conveyor_rejects),
        (
            "both reject (same first line)",
            both_reject,
            sum(o.parser.rejected and o.same_line for o in outcomes),
        ),
    ]
    lines = [f"{label:<36} {a:>5} {b:>5}" for label, a, b in rows]
    lines.append(str(rates(outcomes)))
    return "\n".join(lines)


def disagreement(outcome: Outcome, show: int) -> str:
    if not outcome.same_decision:
        what = "Conveyor stricter" if outcome.conveyor.rejected else "Conveyor laxer"
    else:
        what = f"first line {outcome.parser.line} (GitHub) vs {outcome.conveyor.line} (Conveyor)"
    return "\n".join(
        [
            f"{outcome.sample.name}: {what}",
            f"  parser:   {list(outcome.parser.messages[:show])}",
            f"  conveyor: {list(outcome.conveyor.messages[:show])}",
        ]
    )


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("directory", type=Path)
    options.add_argument("--show", type=int, default=2, help="messages shown per side")
    args = options.parse_args()
    if not parser_available():
        print("node or @actions/workflow-parser is missing (make install); nothing measured")
        return 0
    samples = load(args.directory)
    if not samples:
        print(f"no *.yml or *.yaml files under {args.directory}")
        return 2
    started = time.perf_counter()
    outcomes = compare(samples)
    print(table(outcomes))
    print(f"measured in {time.perf_counter() - started:.1f} s")
    differing = [o for o in outcomes if not o.same_line]
    for outcome in differing:
        print(disagreement(outcome, args.show))
    print(f"{len(differing)} disagreements")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
