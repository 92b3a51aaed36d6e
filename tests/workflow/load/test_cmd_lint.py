"""`conveyor lint`: text and JSON output, exit codes, every problem at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor.app.cmd_lint import lint

BAD = (
    "on: push\njobs:\n  a:\n    runs-on: x\n    bogus: 1\n"
    "    steps:\n      - run: a\n        uses: a/b@v1\n"
)
GOOD = "on: push\njobs:\n  a: {runs-on: x, steps: [{run: a}]}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(BAD)
    (workflows / "good.yml").write_text(GOOD)
    return tmp_path


def run_lint(repo: Path, *args: str) -> tuple[int, str]:
    runner = CliRunner()
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        result = runner.invoke(lint, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)
    return result.exit_code, result.stdout


def test_default_directory_text_output_and_exit_1(repo: Path) -> None:
    code, out = run_lint(repo)
    assert code == 1
    assert out.splitlines() == [
        ".github/workflows/bad.yml:5:5: Unexpected value 'bogus' [unknown-key]",
        ".github/workflows/bad.yml:8:9: Unexpected value 'uses' [unknown-key]",
    ]


def test_clean_file_exits_0(repo: Path) -> None:
    assert run_lint(repo, ".github/workflows/good.yml") == (0, "")


def test_json_format(repo: Path) -> None:
    code, out = run_lint(repo, "--format", "json", ".github/workflows")
    document = json.loads(out)
    assert code == 1
    assert document["count"] == 2
    assert document["problems"][0] == {
        "file": ".github/workflows/bad.yml",
        "line": 5,
        "col": 5,
        "message": "Unexpected value 'bogus'",
        "rule": "unknown-key",
        "severity": "error",
    }


def test_missing_path_exits_2_without_traceback(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "conveyor.app", "lint", "nowhere.yml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=repo,
    )
    assert result.returncode == 2
    assert "nowhere.yml: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


MATRIX_RUNS_ON = (
    "on: push\njobs:\n  a:\n    strategy: {matrix: {os: [ubuntu-latest]}}\n"
    "    runs-on: ${{ matrix.os }}\n    steps: [{run: echo}]\n"
)
ACTION_METADATA = "name: x\ndescription: y\nruns: {using: composite, steps: []}\n"


@pytest.mark.parametrize("name", ["action.yml", "action.yaml"])
def test_action_named_file_in_workflows_dir_is_linted_as_a_workflow(repo: Path, name: str) -> None:
    (repo / ".github" / "workflows" / name).write_text(MATRIX_RUNS_ON)
    assert run_lint(repo, f".github/workflows/{name}") == (0, "")
    _, out = run_lint(repo, ".github/workflows")
    assert name not in out


def test_action_yml_outside_workflows_dir_stays_action_metadata(repo: Path) -> None:
    (repo / "action.yml").write_text(ACTION_METADATA)
    assert run_lint(repo, "action.yml") == (0, "")
    (repo / "action.yml").write_text(MATRIX_RUNS_ON)
    code, out = run_lint(repo, "action.yml")
    assert code == 1
    assert "action.yml:5:14: Unrecognized named-value: 'matrix'" in out
