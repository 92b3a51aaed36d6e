"""Every case of GitHub's shared expression test data (actions/languageservices) passes.

Cases GitHub skips for "typescript" follow the C# runner and are run too. Error cases
must fail with the same kind; the test data's message must be a prefix of ours (the
data truncates some runner messages, e.g. "Too few parameters supplied: ").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.expr.conftest import TESTDATA, load_cases, outcome, same

if not TESTDATA.is_dir():
    pytest.skip(f"GitHub's expression test data is absent ({TESTDATA})", allow_module_level=True)

CASES = load_cases()


def test_the_test_data_is_all_there() -> None:
    assert len(CASES) >= 1000


@pytest.mark.parametrize(("case_id", "case"), CASES, ids=[case_id for case_id, _ in CASES])
def test_case(case_id: str, case: dict[str, Any]) -> None:
    got = outcome(case["expr"], case.get("contexts") or {})
    if "err" in case:
        assert "err" in got, f"{case_id}: expected an error, got {got}"
        assert got["err"]["kind"] == case["err"]["kind"], got
        assert got["err"]["value"].startswith(case["err"]["value"]), got
    else:
        assert "err" not in got, f"{case_id}: {got}"
        assert got["kind"] == case["result"]["kind"], got
        assert same(got["value"], case["result"]["value"]), got
