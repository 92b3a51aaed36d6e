"""Cancelling a run through the real server, its job on a real runner of the local pool:
the running job is interrupted but its `always()` step still runs and reports, jobs whose
`if` holds after the cancellation (`always()`, `cancelled()`) still run, the others are
skipped, and the run concludes `cancelled`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Server, make_server, push_workflows

FLOW = """name: Cancel
on: push
jobs:
  long:
    runs-on: ubuntu-latest
    steps:
      - run: echo "long started"; sleep 120
      - if: always()
        run: echo "cleanup step ran"
      - run: echo "never printed"
  after:
    needs: long
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: echo "after ran, long was ${{ needs.long.result }}"
  notify:
    needs: long
    if: cancelled()
    runs-on: ubuntu-latest
    steps:
      - run: echo "notify ran"
  publish:
    needs: long
    runs-on: ubuntu-latest
    steps:
      - run: echo "publish ran"
"""


@pytest.fixture
def one_runner(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path, "--pool-min", "1", "--pool-max", "1")
    srv.start()
    yield srv
    srv.stop()


def _logs(server: Server, run_id: int) -> str:
    return server.api("GET", f"/api/v1/runs/{run_id}/logs").text


def _started(server: Server, tmp_path: Path, flow: str = FLOW) -> int:
    push_workflows(server, tmp_path, "acme/app", {".github/workflows/c.yml": flow})
    run_id = int(server.runs("acme/app")[0]["id"])
    deadline = time.monotonic() + 90
    while "long started" not in _logs(server, run_id):
        assert time.monotonic() < deadline, _logs(server, run_id)
        time.sleep(0.2)
    return run_id


def test_cancel_runs_always_steps_and_jobs_then_concludes_cancelled(
    one_runner: Server, tmp_path: Path
) -> None:
    run_id = _started(one_runner, tmp_path)
    answer = one_runner.api("POST", f"/api/v1/runs/{run_id}/cancel")
    assert answer.status_code == 200
    assert answer.json()["status"] == "in_progress"  # its jobs end first
    run = one_runner.wait_run(run_id, timeout=120)
    logs = _logs(one_runner, run_id)
    assert run["conclusion"] == "cancelled", logs
    units = {u["job_id"]: u["conclusion"] for u in run["units"]}
    assert units == {
        "long": "cancelled",
        "after": "success",
        "notify": "success",
        "publish": "skipped",
    }
    assert "cleanup step ran" in logs  # the cancelled job's always() step
    assert "never printed" not in logs
    assert "after ran, long was cancelled" in logs
    assert "notify ran" in logs  # cancelled() is true on the runner too
    assert "publish ran" not in logs
    [long] = [j for j in run["jobs"] if j["name"] == "long"]
    assert [s["conclusion"] for s in long["steps"]][-2:] == ["success", "skipped"]


STUBBORN = """name: Stubborn
on: push
jobs:
  long:
    runs-on: ubuntu-latest
    steps:
      - run: echo "long started"; sleep 120
      - if: always()
        run: sleep 120
"""


def test_force_cancel_ends_the_run_and_its_job_at_once(one_runner: Server, tmp_path: Path) -> None:
    """Even a job whose always() step would take two minutes: its runner ends it at once."""
    run_id = _started(one_runner, tmp_path, STUBBORN)
    answer = one_runner.api("POST", f"/api/v1/runs/{run_id}/force-cancel")
    assert answer.status_code == 200
    assert answer.json() == {"id": run_id, "status": "completed", "conclusion": "cancelled"}
    run = one_runner.api("GET", f"/api/v1/runs/{run_id}").json()
    assert {u["job_id"]: u["conclusion"] for u in run["units"]} == {"long": "cancelled"}
    push_workflows(one_runner, tmp_path, "acme/app", {"README": "again"})
    again = max(int(r["id"]) for r in one_runner.runs("acme/app"))
    deadline = time.monotonic() + 60  # the only runner is free again long before 120 s
    while "long started" not in _logs(one_runner, again):
        assert time.monotonic() < deadline, _logs(one_runner, again)
        time.sleep(0.2)
    one_runner.api("POST", f"/api/v1/runs/{again}/force-cancel")
