"""Differential test against GitHub's TypeScript evaluator, npm `@actions/expressions`.

1,200 generated expressions (fixed seed, pools that avoid the TypeScript package's known
bugs) are evaluated by us and by the npm package in one node process; results must agree
(kind and value, or both an error). `KNOWN_TS_BUGS` lists cases where the npm package is
wrong and GitHub's runner (C#) is right (research §3.3): we must match the runner and the
package must still give its wrong answer, so the table stays honest.
The package is installed by the Makefile under .venv/node; skipped when node or it is absent.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conveyor.workflow.expr import to_text
from tests.workflow.expr.conftest import outcome, same
from tests.workflow.expr.generate import CONTEXTS, random_node

PACKAGE = Path(__file__).parents[3] / ".venv" / "node" / "node_modules" / "@actions" / "expressions"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None or not (PACKAGE / "dist" / "index.js").is_file(),
    reason=f"node or npm @actions/expressions is unavailable (looked for {PACKAGE}; make install)",
)

DRIVER = """
import { pathToFileURL } from "node:url";
const { Lexer, Parser, Evaluator, data } = await import(pathToFileURL(process.argv[2]).href);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const plain = (r) => {
  if (r.kind === data.Kind.Number && !Number.isFinite(r.value)) return String(r.value);
  return JSON.parse(JSON.stringify(r, data.replacer));
};
for (const line of input.split("\\n")) {
  if (!line.trim()) continue;
  const { expr, contexts } = JSON.parse(line);
  let out;
  try {
    const names = Object.keys(contexts);
    const ast = new Parser(new Lexer(expr).lex().tokens, names, []).parse();
    const ctx = JSON.parse(JSON.stringify(contexts), data.reviver);
    const r = ast === undefined ? new data.Null() : new Evaluator(ast, ctx).evaluate();
    const kind = r.kind === data.Kind.Dictionary ? "Object" : data.Kind[r.kind];
    out = { kind, value: plain(r) };
  } catch (e) {
    out = { err: String(e && e.message) };
  }
  process.stdout.write(JSON.stringify(out) + "\\n");
}
"""

#: expression -> (what the npm package answers, what GitHub's runner answers).
KNOWN_TS_BUGS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # JavaScript's Number() reads binary; the runner knows only 0x and 0o.
    ("'0b11' == 3", {"kind": "Boolean", "value": True}, {"kind": "Boolean", "value": False}),
    # The package replaces only the first '' escape.
    ("'a''b''c'", {"kind": "String", "value": "a'b''c"}, {"kind": "String", "value": "a'b'c"}),
    # Format specifiers are ignored by the package, rejected by the runner.
    ("format('{0:x}', 'y')", {"kind": "String", "value": "y"}, {"err": "evaluation"}),
    ("format('{0abc}', 'x')", {"kind": "String", "value": "x"}, {"err": "evaluation"}),
    # The runner prints numbers with 15 significant digits (G15).
    (
        "format('{0}', 123456789012345678)",
        {"kind": "String", "value": "123456789012345680"},
        {"kind": "String", "value": "1.23456789012346E+17"},
    ),
    (
        "format('{0}', 1e20)",
        {"kind": "String", "value": "100000000000000000000"},
        {"kind": "String", "value": "1E+20"},
    ),
    # Hex needs a lower-case x in the runner.
    ("'0X10' == 16", {"kind": "Boolean", "value": True}, {"kind": "Boolean", "value": False}),
    ("0X10", {"kind": "Number", "value": 16}, {"err": "lexing"}),
    # The runner skips any Char.IsWhiteSpace (here a no-break space); the package only ASCII.
    ("\u00a01 == 1", {"err": "lexing"}, {"kind": "Boolean", "value": True}),
    # The package accepts a trailing comma in a call; the runner's lexer rejects `,)`.
    ("toJSON(true,)", {"kind": "String", "value": "true"}, {"err": "parsing"}),
    # The runner's lexer lets `.` follow `*` anywhere, so `[*.v]` parses: the key is
    # `'*'.v`, i.e. null, i.e. index 0 (from its source; the package rejects the `.`).
    ("fromJSON('[{\"v\":1}]')[*.v]", {"err": "parsing"}, {"kind": "Object", "value": {"v": 1}}),
    # JSON.stringify writes infinities as null; the runner writes the number's string.
    (
        "toJSON(-Infinity)",
        {"kind": "String", "value": "null"},
        {"kind": "String", "value": "-Infinity"},
    ),
]


def run_npm(cases: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    driver = tmp_path / "driver.mjs"
    driver.write_text(DRIVER, encoding="utf-8")
    stdin = "".join(json.dumps(case) + "\n" for case in cases)
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(driver), str(PACKAGE / "dist" / "index.js")],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [json.loads(line) for line in done.stdout.split("\n") if line]


def ours(expr: str, contexts: dict[str, Any]) -> dict[str, Any]:
    got = outcome(expr, contexts)
    if "err" in got:
        return {"err": got["err"]["kind"]}
    value = got["value"]
    if isinstance(value, float) and not math.isfinite(value):
        value = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return {"kind": got["kind"], "value": value}


def agree(npm: dict[str, Any], mine: dict[str, Any]) -> bool:
    if "err" in npm or "err" in mine:
        return "err" in npm and "err" in mine
    return npm["kind"] == mine["kind"] and same(npm["value"], mine["value"])


def test_generated_expressions_agree_with_the_npm_package(tmp_path: Path) -> None:
    rng = random.Random(20260301)
    texts = list(dict.fromkeys(to_text(random_node(rng, portable=True)) for _ in range(1800)))
    assert len(texts) >= 1000
    cases = [{"expr": text, "contexts": CONTEXTS} for text in texts]
    answers = run_npm(cases, tmp_path)
    disagreements = [
        (case["expr"], npm, ours(case["expr"], CONTEXTS))
        for case, npm in zip(cases, answers, strict=True)
        if not agree(npm, ours(case["expr"], CONTEXTS))
    ]
    assert disagreements == []


def test_known_npm_bugs_still_differ_and_we_follow_the_runner(tmp_path: Path) -> None:
    answers = run_npm([{"expr": e, "contexts": {}} for e, _, _ in KNOWN_TS_BUGS], tmp_path)
    for (expr, npm_expected, runner), npm in zip(KNOWN_TS_BUGS, answers, strict=True):
        assert agree(npm, npm_expected), (expr, npm)
        mine = ours(expr, {})
        assert mine == runner if "err" in runner else agree(runner, mine), (expr, mine)
        assert not agree(npm, mine), expr
