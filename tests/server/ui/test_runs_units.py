"""The Runs pages' pure parts, table-driven: which link targets a summary keeps, how a
job's parts combine into one state, job columns from needs, and annotation locations."""

from __future__ import annotations

import pytest

from conveyor.server.ui import markdown, runnotes, runview


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.com/a", True),
        ("http://example.com", True),
        ("mailto:dev@example.com", True),
        ("/runs/1", True),
        ("#section", True),
        ("report.html", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
        ("vbscript:msgbox(1)", False),
        ("file:///etc/passwd", False),
    ],
)
def test_summary_links_keep_only_safe_schemes(url: str, kept: bool) -> None:
    assert markdown.safe_link(url) is kept


@pytest.mark.parametrize(
    ("states", "shown"),
    [
        (["success", "in_progress"], "in_progress"),
        (["queued", "pending"], "queued"),
        (["success", "failure", "cancelled"], "failure"),
        (["success", "cancelled"], "cancelled"),
        (["skipped", "success"], "success"),
        (["skipped"], "skipped"),
    ],
)
def test_job_state_is_the_active_one_else_the_worst(states: list[str], shown: str) -> None:
    assert runview.combined(states) == shown


def test_columns_follow_the_deepest_need() -> None:
    specs = [
        runview.JobSpec(key="a", title="a"),
        runview.JobSpec(key="b", title="b", needs=("a",)),
        runview.JobSpec(key="c", title="c", needs=("a", "b")),
        runview.JobSpec(key="d", title="d", needs=("gone",)),  # an unknown need: column 0
    ]
    assert runview.depths(specs) == {"a": 0, "b": 1, "c": 2, "d": 0}


def test_rows_the_workflow_does_not_name_join_the_first_column() -> None:
    rows = [{"name": "callee / x", "job_id": "", "status": "completed", "conclusion": "success"}]
    [stage] = runview.graph(7, [], rows, [], now=0.0, run_done=True)
    [node] = stage.jobs
    assert (node.key, node.status, node.legs[0].href) == (
        "callee / x",
        "success",
        "/runs/7/jobs/callee%20%2F%20x",
    )


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"file": "a.py", "line": 3, "col": 5}, "a.py:3:5"),
        ({"file": "a.py", "line": 3}, "a.py:3"),
        ({"file": "a.py", "col": 5}, "a.py"),
        ({"line": 3}, ""),
    ],
)
def test_annotation_location_is_file_line_col(data: dict[str, object], where: str) -> None:
    [note] = runnotes.notes({"annotations": [{"level": "error", "message": "m", **data}]}, [])
    assert note.where == where
