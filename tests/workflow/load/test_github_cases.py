"""GitHub's own workflow-reader cases: valid ones load cleanly with GitHub's job and step
ids; invalid ones report at least GitHub's errors at the same line and column (and with the
same message where GitHub's wording is reproduced)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.workflow.model import Workflow
from conveyor.workflow.schema.build_workflow import build_workflow
from conveyor.workflow.schema.nodes import Map
from conveyor.workflow.schema.validate import check_workflow
from tests.workflow.load.cases import CASES_DIR, all_cases, read_case

_PERMISSIONS = "cross-workflow permission policies (permissions-policy option) are out of scope"
_LIMITS = "service limits set by the case's options (max depth/size) are not Conveyor's"
SKIPPED: dict[str, str] = {
    "background-steps.yml": "experimental background steps (allowBackgroundSteps) not supported",
    "on-workflow_dispatch-unknown-keys-ignored.yml": (
        "contradicts events-single-invalid.yml; Conveyor validates `on:` with the strict schema"
    ),
    "errors-anchor-tag.yml": (
        "obsolete since August 2025: GitHub reads anchors and aliases (actions/runner#1182, "
        "changelog 2025-09-18); this C#-only case predates it"
    ),
    "errors-max-depth.yml": _LIMITS,
    "errors-max-file-size.yml": _LIMITS,
    "errors-max-result-size.yml": _LIMITS,
    "errors-reusable-workflow-max-result-size.yml": _LIMITS,
}
#: accepted by GitHub's parser, rejected by GitHub's server and by Conveyor: only these rules
EXTRA_RULES: dict[str, set[str]] = {"events-mapping-all.yml": {"filters"}}


def _skip_reason(path: Path) -> str | None:
    if "permissions-not-allowed" in path.name:
        return _PERMISSIONS
    return SKIPPED.get(path.name)


CASES = all_cases()


def test_the_case_directory_is_there() -> None:
    assert CASES_DIR.is_dir(), CASES_DIR
    assert len(CASES) > 100


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_github_case(path: Path) -> None:
    reason = _skip_reason(path)
    if reason:
        pytest.skip(reason)
    case = read_case(path)
    checked = check_workflow(case.workflow, path.name, resolve=case.callees.get)
    problems = [p for p in checked.problems if p.rule not in EXTRA_RULES.get(path.name, set())]
    expected = case.errors
    if not expected:
        assert problems == [], [str(p) for p in problems]
        assert isinstance(checked.root, Map)
        _compare_ids(build_workflow(checked.root, path.name), case.expected)
        return
    got = {(p.location.line, p.location.col, p.message) for p in problems}
    positions = {(line, col) for line, col, _ in got}
    for error in expected:
        if error.line:
            assert (error.line, error.col) in positions, (error, sorted(got))
        if error.line and not _is_known_wording_gap(error.message):
            assert (error.line, error.col, error.message) in got, (error, sorted(got))
        else:
            assert any(error.message in message for _, _, message in got), (error, sorted(got))


def _is_known_wording_gap(message: str) -> bool:
    return message.startswith(("Unexpected symbol", "Unexpected end"))


def _compare_ids(workflow: Workflow, expected: dict[str, object]) -> None:
    jobs = expected.get("jobs")
    if not isinstance(jobs, list):
        return
    by_id = {job.id: job for job in workflow.jobs}
    for job in jobs:
        assert isinstance(job, dict)
        job_id = _lit(job["id"])
        assert job_id in by_id
        want = [_lit(step["id"]) for step in job.get("steps", [])]
        if want and not by_id[job_id].is_reusable_call:
            assert [s.id for s in by_id[job_id].steps] == want


def _lit(value: object) -> object:
    """Plain values, or `{"lit": …}` in the cases that keep source positions."""
    return value.get("lit") if isinstance(value, dict) else value
