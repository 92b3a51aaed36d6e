"""`conveyor expr`: one expression or a JSONL batch, results as JSON, exit 1 on error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conveyor.app.cmd_expr import expr


def run(*args: str, stdin: str | None = None) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(expr, list(args), input=stdin)
    return result.exit_code, [json.loads(line) for line in result.output.splitlines()]


def test_value_and_kind() -> None:
    assert run("fromJSON('[1, 2.5]')") == (0, [{"kind": "Array", "value": [1, 2.5]}])
    assert run("github") == (0, [{"kind": "Object", "value": {}}])
    assert run("1 == 1") == (0, [{"kind": "Boolean", "value": True}])


def test_error_exits_1() -> None:
    code, [result] = run("format('{0')")
    assert code == 1
    assert result == {
        "err": {"kind": "evaluation", "message": "The following format string is invalid: {0"}
    }


def test_unknown_named_value_is_a_parse_error() -> None:
    code, [result] = run("nope.x")
    assert (code, result["err"]["kind"]) == (1, "parsing")  # type: ignore[index]


def test_context_from_stdin_and_job_status() -> None:
    contexts = {"github": {"ref": "refs/heads/main"}, "job": {"status": "failure"}}
    code, [result] = run("success() || github.ref", "--context", "-", stdin=json.dumps(contexts))
    assert (code, result) == (0, {"kind": "String", "value": "refs/heads/main"})
    assert run("success()")[1] == [{"kind": "Boolean", "value": True}]


def test_context_file_and_template(tmp_path: Path) -> None:
    path = tmp_path / "ctx.json"
    path.write_text(json.dumps({"matrix": {"n": 3}}))
    assert run("n=${{ matrix.n }}", "--context", str(path)) == (
        0,
        [{"kind": "String", "value": "n=3"}],
    )


def test_batch(tmp_path: Path) -> None:
    lines = [
        {"expr": "x.a", "contexts": {"x": {"A": 1}}},
        {"expr": "'0x10' == 16"},
        {"expr": "1 2"},
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, results = run("--batch", str(path))
    assert code == 0
    assert results[:2] == [{"kind": "Number", "value": 1}, {"kind": "Boolean", "value": True}]
    assert results[2]["err"]["kind"] == "parsing"  # type: ignore[index]
