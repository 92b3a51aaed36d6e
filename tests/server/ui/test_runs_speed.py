"""A run of 256 matrix legs renders its page with every leg grouped under its job: the legs
are reported through the runner protocol (`poll`, `set_job`, `complete`) as a runner
reports them. How long the page takes is measured by benches, not asserted here."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import push

WIDE = """name: Wide
on: push
jobs:
  test:
    strategy:
      matrix:
        a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        b: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    runs-on: ubuntu-latest
    steps: [{name: Unit tests, run: "true"}, {name: Coverage, run: "true"}]
  report:
    needs: test
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""
STEPS = [
    {"id": "1", "name": "Unit tests", "outcome": "success", "conclusion": "success"},
    {"id": "2", "name": "Coverage", "outcome": "success", "conclusion": "success"},
]


def _report_legs(ui: UI, tmp_path: Path) -> int:
    service = ui.state.service
    [run_id] = push(service, tmp_path, {"wide.yml": WIDE})
    got = asyncio.run(service.poll("box", labels=["ubuntu-latest"], timeout=0))
    assert got is not None and got["job_id"] == "test"
    for a in range(16):
        for b in range(16):
            fields = {"status": "completed", "conclusion": "success", "steps": STEPS}
            service.set_job(run_id, "box", f"test ({a}, {b})", fields)
    service.complete(run_id, "box", {"result": "success", "job": {"result": "success"}})
    return run_id


def test_run_with_256_matrix_legs_groups_every_leg_under_its_job(ui: UI, tmp_path: Path) -> None:
    run_id = _report_legs(ui, tmp_path)
    reader = ui.sign_in(Role.READ)
    assert reader.get(f"/runs/{run_id}").status_code == 200  # the workflow is parsed once
    html = reader.get(f"/runs/{run_id}").text
    assert html.count(f'href="/runs/{run_id}/jobs/test%20%28') == 256
    assert (
        re.search(r"256 matrix legs:\s+256 success</summary>", html)
        and 'needs: <a href="#job-test">test</a>' in html
    )
