"""The store's edge (`ci.ledger`): rows become frozen `ci.model` values whose enum members
carry the stored words, and a run's units become what dependants see."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.ci.ledger import concluded_jobs, conclusion_of, job_of, unit_of
from conveyor.ci.model import Conclusion, Status


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("", None),
        (None, None),
        ("success", Conclusion.SUCCESS),
        ("cancelled", Conclusion.CANCELLED),
        ("skipped", Conclusion.SKIPPED),
        ("neutral", Conclusion.FAILURE),  # a word no job result spells
    ],
)
def test_conclusion_words(word: str | None, expected: Conclusion | None) -> None:
    assert conclusion_of(word) == expected


def test_enum_members_are_the_stored_words() -> None:
    assert [str(s) for s in Status] == [
        "pending",
        "waiting",
        "queued",
        "in_progress",
        "completed",
    ]
    assert Status.IN_PROGRESS == "in_progress" and f"{Conclusion.FAILURE}" == "failure"


def _unit(**values: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "run_id": 7,
        "job_id": "build",
        "name": "build",
        "labels": ["linux"],
        "matrix_filter": [["os", "linux"]],
        "status": "completed",
        "conclusion": "success",
        "outputs": {},
        "reason": "",
        "job_names": None,
        "concurrency_group": "",
        "cancel_in_progress": 0,
        "runner": "",
        "heartbeat": None,
        "finished": 1.0,
    }
    return {**row, **values}


def test_a_unit_row_becomes_a_frozen_unit() -> None:
    unit = unit_of(_unit())
    assert unit.status is Status.COMPLETED and unit.conclusion is Conclusion.SUCCESS
    assert unit.matrix_filter == (("os", "linux"),) and unit.job_names == ()
    assert unit.environment == "" and unit.heartbeat == 0.0
    with pytest.raises(AttributeError):
        unit.status = Status.QUEUED  # type: ignore[misc]


def test_a_job_row_a_runner_reported_oddly_counts_as_unfinished() -> None:
    row = {"run_id": 7, "name": "b", "job_id": "b", "status": "running", "conclusion": ""}
    job = job_of({**row, "outputs": None, "updated": None})
    assert job.status is Status.IN_PROGRESS and job.conclusion is None


def test_concluded_jobs_combine_units_and_merge_outputs_in_finishing_order() -> None:
    units = [
        unit_of(_unit(id=1, job_id="test", conclusion="success", outputs={"a": "1"}, finished=2)),
        unit_of(_unit(id=2, job_id="test", conclusion="failure", outputs={"a": "2"}, finished=1)),
        unit_of(_unit(id=3, job_id="lint", status="in_progress", conclusion="")),
    ]
    done = concluded_jobs(units)
    assert list(done) == ["test"]  # lint has not concluded
    assert done["test"].result == Conclusion.FAILURE and done["test"].outputs == {"a": "1"}
