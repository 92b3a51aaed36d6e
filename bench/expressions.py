"""Evaluations per second of typical compiled expressions (issue 3's benchmark).

Run: `.venv/bin/python bench/expressions.py [--seconds 1.0]`. Each expression is compiled
once and evaluated repeatedly against one context on one core; the table shows
evaluations per second and the ratio to the 200,000/s target of the first row.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from conveyor.workflow.expr import EvalContext, Function, compile_expression, compile_template

TARGET = 200_000

MATRIX = json.dumps([{"os": f"os-{n % 3}", "python": f"3.{n % 5 + 8}", "n": n} for n in range(20)])
COMMITS = [
    {"id": f"{n:040x}", "message": f"commit {n}", "author": {"name": "a"}} for n in range(100)
]
CONTEXT = EvalContext(
    {
        "github": {"ref": "refs/heads/main", "sha": "abc123", "event": {"commits": COMMITS}},
        "matrix": {"os": "ubuntu-latest", "python": "3.12"},
        "env": {"MATRIX": MATRIX},
    },
    {"success": Function(name="success", min_args=0, max_args=0, call=lambda _: True)},
)
CASES = [
    ("github.ref == 'refs/heads/main' && success()", "expression"),
    ("format('{0}-{1}-{2}', matrix.os, matrix.python, github.sha)", "expression"),
    ("fromJSON(env.MATRIX)", "expression"),
    ("github.event.commits.*.message", "expression"),
    ("build-${{ matrix.os }}-${{ matrix.python }}", "template"),
]


def rate(text: str, kind: str, seconds: float) -> float:
    """Evaluations per second of `text`, compiled once."""
    compiled = compile_expression(text) if kind == "expression" else compile_template(text)
    evaluate = compiled.evaluate
    count, batch = 0, 1000
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            evaluate(CONTEXT)
        count += batch
    return count / elapsed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per expression")
    args = parser.parse_args(argv)
    print(f"{'expression':<62} {'evals/s':>12} {'vs target':>10}")
    for text, kind in CASES:
        per_second = rate(text, kind, args.seconds)
        print(f"{text:<62} {per_second:>12,.0f} {per_second / TARGET:>9.2f}x")


if __name__ == "__main__":
    main()
