"""A CI run's `github.run_id` is the service's own run id: the promotion trailer
`…/actions/runs/${{ github.run_id }}` and the UI's /runs/ID name the same run."""

from __future__ import annotations

from pathlib import Path

from conveyor.server.auth import Role
from conveyor.store.ci_logs import LogWindow
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import execute, push

WORKFLOW = """\
name: ids
on: push
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - run: echo "run=$GITHUB_RUN_ID context=${{ github.run_id }}"
"""


def test_github_run_id_is_the_runs_id_in_the_store(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    push(service, tmp_path, {"other.yml": WORKFLOW.replace("name: ids", "name: first")})
    [run_id] = push(service, tmp_path, {"other.yml": WORKFLOW})
    assert run_id > 1  # not the first run: a made-up id could not match by chance
    execute(service, tmp_path, [run_id])
    lines = [x.text for x in service.store.log_lines(run_id, LogWindow(job="show"))]
    assert any(f"run={run_id} context={run_id}" in line for line in lines), lines
    page = ui.sign_in(Role.READ).get(f"/runs/{run_id}")
    assert page.status_code == 200
