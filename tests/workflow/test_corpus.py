"""The fixture corpus itself is well formed (runs with or without the engine).

These checks keep `tests/workflow/test_fixtures.py` honest: a typo in a `case.yml` key, a result
name that does not exist, or a fixture without workflows would otherwise pass silently or test
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.workflow.cases import FIXTURES, JOB_KEYS, RESULTS, Case, all_cases

CASES = all_cases()
#: fixtures whose workflow file is deliberately not YAML
NOT_YAML = {"invalid-yaml"}


def test_corpus_has_at_least_seventy_behaviours() -> None:
    assert len(CASES) >= 70
    assert len({c.name for c in CASES}) == len(CASES)


def test_every_fixture_directory_has_a_case_file() -> None:
    dirs = {d.name for d in FIXTURES.iterdir() if d.is_dir()}
    assert dirs == {c.name for c in CASES}


def test_at_least_twenty_fixtures_are_cross_checked_by_act() -> None:
    assert sum(c.act for c in CASES) >= 20


def non_string_keys(value: Any) -> list[Any]:
    """YAML 1.1 reads unquoted yes/no/on/off keys as booleans: find them anywhere."""
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        return bad + [b for v in value.values() for b in non_string_keys(v)]
    if isinstance(value, list):
        return [b for v in value for b in non_string_keys(v)]
    return []


def results_in(want: Any) -> list[Any]:
    if isinstance(want, str):
        return [want]
    if isinstance(want, list):
        return want
    spec = want.get("result", [])
    return spec if isinstance(spec, list) else [spec]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_well_formed(case: Case) -> None:
    assert case.description, "every fixture says what behaviour it pins down"
    workflows = sorted((case.directory / ".github" / "workflows").glob("*.y*ml"))
    assert workflows, "a fixture is a repository with .github/workflows/*.yml"
    if case.name not in NOT_YAML:
        for path in workflows:
            assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
    expect = case.expect
    assert not non_string_keys(expect), f"quote these keys: {non_string_keys(expect)}"
    assert expect.get("exit", 0) in (0, 1, 2)
    for key, want in (expect.get("jobs") or {}).items():
        assert isinstance(key, str), f"job key {key!r} is not a string (quote yes/no/on/off)"
        if isinstance(want, dict):
            assert set(want) <= JOB_KEYS, (key, set(want) - JOB_KEYS)
        assert set(results_in(want)) <= RESULTS, (key, want)
    for name in expect.get("workflows") or {}:
        assert any(p.name == name for p in workflows), f"unknown workflow file {name}"
    if case.act_jobs is not None:
        assert case.act, "act_jobs only makes sense on act: true fixtures"
        assert set(case.act_jobs.values()) <= RESULTS


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_steps_use_only_shell_and_python(case: Case) -> None:
    """Fixtures must run offline: no network tools, no Docker, no remote actions but checkout."""
    for path in (case.directory).rglob("*.y*ml"):
        text = path.read_text(encoding="utf-8")
        for banned in ("curl ", "wget ", "docker ", "podman ", "docker://", "pip install"):
            assert banned not in text, (path, banned)
        for line in text.splitlines():
            uses = line.strip().removeprefix("- ").strip()
            if uses.startswith("uses:"):
                target = uses.split(":", 1)[1].strip()
                assert target.startswith(("./", "actions/checkout@")), (
                    Path(path).name,
                    target,
                )
