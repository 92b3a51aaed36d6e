"""`conveyor expr`: evaluate a GitHub Actions expression, or a JSONL batch of them.

Prints `{"kind": …, "value": …}` (kinds as in GitHub's test data: Null, Boolean, Number,
String, Array, Object) or `{"err": {"kind": "lexing|parsing|evaluation", "message": …}}`
and exits 1. The context file is a JSON object of named contexts; the usual contexts
(github, env, …) exist as empty objects when absent. Status functions answer as for
`job.status` (default "success"); `hashFiles` hashes under `github.workspace` (default
the current directory). Used by people and by the differential tests.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from conveyor.core.errors import UserError
from conveyor.workflow.expr import (
    EvalContext,
    ExpressionError,
    Function,
    Value,
    compile_template,
    hash_files_function,
    kind_of,
    parse_with,
)

STANDARD_CONTEXTS = (
    "github",
    "env",
    "vars",
    "secrets",
    "inputs",
    "matrix",
    "strategy",
    "needs",
    "steps",
    "job",
    "jobs",
    "runner",
)


def _status_functions(contexts: Mapping[str, Any]) -> dict[str, Function]:
    job = contexts.get("job")
    status = job.get("status", "success") if isinstance(job, dict) else "success"

    def is_status(expected: str) -> Function:
        return Function(name=expected, min_args=0, max_args=255, call=lambda _: status == expected)

    functions = {name: is_status(name) for name in ("success", "failure", "cancelled")}
    functions["always"] = Function(name="always", min_args=0, max_args=0, call=lambda _: True)
    github = contexts.get("github")
    workspace = github.get("workspace") if isinstance(github, dict) else None
    functions["hashFiles"] = hash_files_function(Path(workspace or "."))
    return functions


def _plain(value: Value) -> Any:
    """JSON-ready: integral numbers as integers, NaN and infinities as strings."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def evaluate_one(text: str, contexts: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's result object for one expression (text with `${{ }}` is a template)."""
    names = list(dict.fromkeys([*STANDARD_CONTEXTS, *contexts]))
    values = {name: contexts.get(name, {}) for name in names}
    ctx = EvalContext(values, _status_functions(contexts))
    try:
        if "${{" in text:
            value = compile_template(text).evaluate(ctx)
        else:
            value = parse_with(text, named_values=names).evaluate(ctx)
    except ExpressionError as exc:
        return {"err": {"kind": str(exc.kind), "message": exc.message}}
    return {"kind": kind_of(value), "value": _plain(value)}


def _read_contexts(source: str | None) -> dict[str, Any]:
    if source is None:
        return {}
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read contexts: {exc}", hint="give a JSON object") from exc
    if not isinstance(data, dict):
        raise UserError("the context file must hold a JSON object of named contexts")
    return data


def _batch(path: str) -> list[dict[str, Any]]:
    results = []
    try:
        lines = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(lines.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            text, contexts = item["expr"], item.get("contexts") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path}:{number}: not a {{'expr', 'contexts'}} line: {exc}") from exc
        results.append(evaluate_one(str(text), contexts))
    return results


@click.command("expr")
@click.argument("expression", required=False)
@click.option("--context", "context_file", help="JSON file of named contexts, or - for stdin.")
@click.option("--batch", "batch_file", help='JSONL file of {"expr", "contexts"} lines (- stdin).')
def expr(expression: str | None, context_file: str | None, batch_file: str | None) -> None:
    """Evaluate a GitHub Actions expression and print its kind and value as JSON."""
    if batch_file is not None:
        for result in _batch(batch_file):
            click.echo(json.dumps(result, ensure_ascii=False))
        return
    if expression is None:
        raise click.UsageError("give an EXPRESSION or --batch FILE")
    result = evaluate_one(expression, _read_contexts(context_file))
    click.echo(json.dumps(result, ensure_ascii=False))
    if "err" in result:
        sys.exit(1)
