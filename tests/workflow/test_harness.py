"""The corpus harness's comparison finds every kind of mismatch (so a fixture can really fail)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.workflow.cases import Case
from tests.workflow.test_fixtures import compare


def document(run_dir: Path) -> dict[str, Any]:
    return {
        "result": "failure",
        "run_dir": str(run_dir),
        "event": "push",
        "workflows": [
            {
                "path": ".github/workflows/ci.yml",
                "name": "CI",
                "triggered": True,
                "reason": "",
                "result": "failure",
                "jobs": [
                    {
                        "id": "build",
                        "name": "Build it",
                        "matrix": None,
                        "duration": 0.1,
                        "result": "success",
                        "outputs": {"k": "v"},
                        "steps": [
                            {
                                "id": "s1",
                                "name": "Run x",
                                "outcome": "failure",
                                "conclusion": "success",
                            }
                        ],
                        "annotations": [{"level": "error", "message": "bad", "line": 3}],
                        "parent": None,
                    },
                    {
                        "id": "m",
                        "duration": 0.2,
                        "name": "m (1)",
                        "matrix": {"n": 1.0},
                        "result": "failure",
                        "outputs": {},
                        "steps": [],
                        "annotations": [],
                        "parent": None,
                    },
                ],
            },
            {
                "path": ".github/workflows/other.yml",
                "name": "Other",
                "triggered": False,
                "reason": "not push",
                "jobs": [],
            },
        ],
    }


GOOD: dict[str, Any] = {
    "exit": 1,
    "workflows": {"ci.yml": "triggered", "other.yml": {"triggered": False}},
    "jobs": {
        "Build it": {
            "result": "success",
            "outputs": {"k": "v", "absent": ""},
            "steps": {"s1": {"outcome": "failure", "conclusion": "success"}},
            "annotations": [{"level": "error", "line": 3}],
        },
        "m (1)": ["failure", "cancelled"],
    },
    "legs": {"m": [{"n": 1}]},
    "job_count": 2,
    "log_contains": ["hello"],
    "log_not_contains": ["never-printed"],
    "run_dir_contains": {"ci/Build it/summary.md": ["## sum"]},
}

MISMATCHES = [
    ({"exit": 0}, "exit code 1 want 0"),
    ({"workflows": {"other.yml": "triggered"}}, "workflow other.yml: triggered=False"),
    ({"workflows": {"gone.yml": "triggered"}}, "workflow gone.yml: not in the results"),
    ({"jobs": {"Build it": "failure"}}, "job 'Build it': result=success want failure"),
    ({"jobs": {"build": "failure"}}, "job 'build': result=success want failure"),
    ({"jobs": {"nope": "success"}}, "job 'nope': not found"),
    ({"jobs": {"Build it": {"outputs": {"k": "w"}}}}, "output k='v' want 'w'"),
    ({"jobs": {"Build it": {"steps": {"s1": {"conclusion": "failure"}}}}}, "conclusion='success'"),
    ({"jobs": {"Build it": {"steps": {"s9": {"outcome": "success"}}}}}, "no step 's9'"),
    ({"jobs": {"Build it": {"annotations": [{"message": "good"}]}}}, "no annotation"),
    ({"legs": {"m": [{"n": 2}]}}, "matrix legs of 'm'"),
    ({"job_count": 3}, "job count 2 want 3"),
    ({"log_not_contains": ["leaked-value"]}, "leaked into ['ci/Build it/01-s1.log']"),
    ({"log_contains": ["absent-text"]}, "neither stderr nor the run dir contains 'absent-text'"),
    ({"stderr_not_contains": ["hello"]}, "stderr contains 'hello'"),
    ({"run_dir_contains": {"*/x/summary.md": ["a"]}}, "run dir has no file matching"),
    ({"annotations_absent": ["bad"]}, "unexpected annotation 'bad'"),
]


def test_a_document_missing_promised_fields_is_reported(tmp_path: Path) -> None:
    doc = document(tmp_path)
    del doc["workflows"][0]["jobs"][0]["duration"]
    doc["workflows"][0]["jobs"][1]["result"] = "neutral"
    proc = subprocess.CompletedProcess(args=[], returncode=1, stdout=json.dumps(doc), stderr="")
    case = Case(name="t", directory=tmp_path, description="d", expect={"exit": 1})
    errors = compare(case, proc, tmp_path, 0.1)
    assert "job 'Build it': lacks ['duration']" in errors
    assert "job 'm (1)': result 'neutral' is not a job result" in errors


def run(tmp_path: Path, expect: dict[str, Any]) -> list[str]:
    run_dir = tmp_path / "run"
    (run_dir / "ci" / "Build it").mkdir(parents=True)
    (run_dir / "ci" / "Build it" / "summary.md").write_text("## sum\n", encoding="utf-8")
    (run_dir / "ci" / "Build it" / "01-s1.log").write_text("x leaked-value\n", encoding="utf-8")
    proc = subprocess.CompletedProcess(
        args=[], returncode=1, stdout=json.dumps(document(run_dir)), stderr="hello\n"
    )
    case = Case(name="t", directory=tmp_path, description="d", expect=expect)
    return compare(case, proc, tmp_path, 1.0)


def test_matching_expectations_give_no_errors(tmp_path: Path) -> None:
    assert run(tmp_path, GOOD) == []


@pytest.mark.parametrize(("expect", "message"), MISMATCHES, ids=[m for _, m in MISMATCHES])
def test_each_mismatch_is_reported(tmp_path: Path, expect: dict[str, Any], message: str) -> None:
    errors = run(tmp_path, {"exit": 1, **expect})
    assert any(message in e for e in errors), errors


def test_exit_2_needs_no_json_document(tmp_path: Path) -> None:
    proc = subprocess.CompletedProcess(args=[], returncode=2, stdout="", stderr="ci.yml:3:5: bad")
    case = Case(name="t", directory=tmp_path, description="d", expect={"exit": 2})
    assert compare(case, proc, tmp_path, 0.1) == []
