"""Evaluations per second of typical compiled expressions (issue 3's benchmark).

Run: `.venv/bin/python bench/expressions.py [--seconds 1.0]`. Each expression is compiled
once and evaluated repeatedly against one context on one core; the table shows
evaluations per second, the ratio to issue 3's 200,000/s target, and, as a peer measured
in the same run, GitHub's TypeScript evaluator (npm @actions/expressions under
.venv/node, parsed once, evaluated in a loop by node) when node and the package exist.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

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


PACKAGE = Path(__file__).parents[1] / ".venv/node/node_modules/@actions/expressions/dist/index.js"
PEER = """
import { pathToFileURL } from "node:url";
const { Lexer, Parser, Evaluator, data } = await import(pathToFileURL(process.argv[2]).href);
const { contexts, cases, seconds } = JSON.parse(process.argv[3]);
const ctx = JSON.parse(JSON.stringify(contexts), data.reviver);
const success = { name: "success", minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(true) };
const funcs = new Map([["success", success]]);
const rates = [];
for (const text of cases) {
  if (text.includes("${{")) { rates.push(null); continue; }
  const ast = new Parser(new Lexer(text).lex().tokens, Object.keys(contexts), [success]).parse();
  let count = 0; const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 1000; i++) new Evaluator(ast, ctx, funcs).evaluate();
    count += 1000;
  }
  rates.push(count / ((performance.now() - start) / 1000));
}
console.log(JSON.stringify(rates));
"""


def peer_rates(seconds: float) -> list[float | None]:
    """The TypeScript evaluator's evaluations per second for CASES (None where not run)."""
    node = shutil.which("node")
    if node is None or not PACKAGE.is_file():
        return [None] * len(CASES)
    payload = {"contexts": dict(CONTEXT.contexts), "cases": [t for t, _ in CASES]}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "peer.mjs"
        script.write_text(PEER, encoding="utf-8")
        argv = [node, str(script), str(PACKAGE), json.dumps({**payload, "seconds": seconds})]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per expression")
    args = parser.parse_args(argv)
    peers = peer_rates(args.seconds)
    print(f"{'expression':<62} {'evals/s':>10} {'vs target':>9} {'TS evals/s':>11} {'vs TS':>6}")
    for (text, kind), peer in zip(CASES, peers, strict=True):
        per_second = rate(text, kind, args.seconds)
        versus = f"{per_second / peer:>5.2f}x" if peer else f"{'-':>6}"
        peer_text = f"{peer:>11,.0f}" if peer else f"{'-':>11}"
        print(f"{text:<62} {per_second:>10,.0f} {per_second / TARGET:>8.2f}x {peer_text} {versus}")


if __name__ == "__main__":
    main()
