"""How often `conveyor lint` agrees with GitHub's parser (npm @actions/workflow-parser).

Run: `.venv/bin/python bench/lint_vs_parser.py [--bases 40] [--seed N]`. Builds the oracle
corpus (`tests/workflow/oracle`: valid workflows from the schema, each mutated every known
way), runs
GitHub's parser over it in one node process and Conveyor's checks in this one, and prints
the accept/reject and first-error-line agreement rates twice (over the whole corpus, and
without the kinds documented as kept on purpose, where Conveyor follows GitHub's server or
the npm parser is wrong), the disagreements per sample kind with the documented reason
(`tests/workflow/oracle/divergences.py`), and any unexplained ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests.workflow.oracle package

from tests.workflow.oracle.agreement import diverging_kinds, rates, unexplained
from tests.workflow.oracle.corpus import build_corpus
from tests.workflow.oracle.divergences import KEPT, LAXER, LINE, STRICTER, UNSUPPORTED
from tests.workflow.oracle.oracle import compare, parser_available


def reason(kind: str) -> str:
    for table in (STRICTER, LAXER, LINE, UNSUPPORTED):
        if kind in table:
            return table[kind]
    return "(not in the table: a cascade, or unexplained)"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--bases", type=int, default=40)
    options.add_argument("--full", type=int, default=9)
    options.add_argument("--seed", type=int, default=20260301)
    args = options.parse_args()
    if not parser_available():
        print("node or @actions/workflow-parser is missing (make install); nothing measured")
        return 0
    started = time.perf_counter()
    samples = build_corpus(args.seed, args.bases, full=args.full)
    outcomes = compare(samples)
    print(f"raw: {rates(outcomes)} in {time.perf_counter() - started:.1f} s")
    rest = [o for o in outcomes if o.sample.kind not in KEPT]
    print(f"without the {len(KEPT)} kinds kept on purpose: {rates(rest)}")
    for kind, count in diverging_kinds(outcomes).most_common():
        print(f"  {count:4} {kind}: {reason(kind)}")
    left = unexplained(outcomes)
    for outcome in left[:20]:
        print(f"UNEXPLAINED {outcome.sample.name}")
        print(f"  parser:   {outcome.parser.messages[:3]}")
        print(f"  conveyor: {outcome.conveyor.messages[:3]}")
    print(f"{len(left)} unexplained")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
