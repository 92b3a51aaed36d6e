"""Re-run all / failed jobs and Cancel from the run page: forms with the session's CSRF
token, done by the write role through the CI service, refused (403) for the read role."""

from __future__ import annotations

from pathlib import Path

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import execute, push

FLAKY = """name: Flaky
on: push
jobs:
  unit:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  e2e:
    runs-on: ubuntu-latest
    steps: [{run: "exit 1"}]
  report:
    needs: e2e
    if: always()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""

PLAIN = """name: Plain
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  test:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


def _failed_run(ui: UI, tmp_path: Path) -> int:
    [run_id] = push(ui.state.service, tmp_path, {"flaky.yml": FLAKY})
    execute(ui.state.service, tmp_path, [run_id])
    return run_id


def test_rerun_failed_jobs_starts_a_new_attempt_of_the_failed_ones(ui: UI, tmp_path: Path) -> None:
    run_id = _failed_run(ui, tmp_path)
    writer = ui.sign_in(Role.WRITE, "wendy")
    page = writer.get(f"/runs/{run_id}").text
    assert "Re-run all jobs" in page and "Re-run failed jobs" in page
    reply = writer.post(f"/runs/{run_id}/rerun", {"failed_only": "true"})
    assert reply.status_code == 303
    new_id = int(reply.headers["location"].removeprefix("/runs/"))
    new = ui.state.service.store.run(new_id)
    assert new is not None and new["rerun_of"] == run_id and new["attempt"] == 2
    assert sorted(new["only_jobs"]) == ["e2e", "report"]  # the failed job and its dependant
    assert f're-run of <a href="/runs/{run_id}">#{run_id}</a>' in writer.get(f"/runs/{new_id}").text


def test_rerun_all_jobs_reruns_every_job(ui: UI, tmp_path: Path) -> None:
    run_id = _failed_run(ui, tmp_path)
    reply = ui.sign_in(Role.WRITE).post(f"/runs/{run_id}/rerun")
    assert reply.status_code == 303
    new = ui.state.service.store.run(int(reply.headers["location"].rsplit("/", 1)[1]))
    assert new is not None and new["rerun_of"] == run_id and new["only_jobs"] is None


def test_cancel_ends_a_queued_run_and_says_who(ui: UI, tmp_path: Path) -> None:
    [run_id] = push(ui.state.service, tmp_path, {"plain.yml": PLAIN})  # no runner: queued
    writer = ui.sign_in(Role.WRITE, "wendy")
    page = writer.get(f"/runs/{run_id}").text
    assert f'action="/runs/{run_id}/cancel"' in page and "Re-run" not in page
    reply = writer.post(f"/runs/{run_id}/cancel")
    assert reply.status_code == 303 and reply.headers["location"] == f"/runs/{run_id}"
    run = ui.state.service.store.run(run_id)
    assert run is not None and (run["status"], run["conclusion"]) == ("completed", "cancelled")
    assert "cancelled by wendy" in writer.get(f"/runs/{run_id}").text


def test_cancel_of_a_completed_run_says_why_not(ui: UI, tmp_path: Path) -> None:
    run_id = _failed_run(ui, tmp_path)
    reply = ui.sign_in(Role.WRITE).post(f"/runs/{run_id}/cancel")
    assert reply.status_code == 409 and "already completed" in reply.text
    assert f'href="/runs/{run_id}"' in reply.text  # a way back


def test_read_role_sees_no_actions_and_cannot_post_them(ui: UI, tmp_path: Path) -> None:
    done = _failed_run(ui, tmp_path)
    [queued] = push(ui.state.service, tmp_path, {"flaky.yml": FLAKY})
    reader = ui.sign_in(Role.READ)
    for run_id in (done, queued):
        page = reader.get(f"/runs/{run_id}").text
        assert "/rerun" not in page and "/cancel" not in page
    assert reader.post(f"/runs/{done}/rerun", {"failed_only": "true"}).status_code == 403
    assert reader.post(f"/runs/{done}/rerun").status_code == 403
    assert reader.post(f"/runs/{queued}/cancel").status_code == 403
    store = ui.state.service.store
    assert store.count_runs() == 2
    queued_run = store.run(queued)
    assert queued_run is not None and queued_run["status"] != "completed"


def test_actions_without_the_forms_csrf_token_are_refused(ui: UI, tmp_path: Path) -> None:
    [run_id] = push(ui.state.service, tmp_path, {"flaky.yml": FLAKY})
    writer = ui.sign_in(Role.WRITE)
    reply = writer.client.post(f"/runs/{run_id}/cancel", data={"csrf": "forged"})
    assert reply.status_code == 403
    run = ui.state.service.store.run(run_id)
    assert run is not None and run["status"] != "completed"


def test_cancelling_run_says_its_always_jobs_still_run(ui: UI, tmp_path: Path) -> None:
    [run_id] = push(ui.state.service, tmp_path, {"flaky.yml": FLAKY})  # report: if always()
    writer = ui.sign_in(Role.WRITE, "wendy")
    assert writer.post(f"/runs/{run_id}/cancel").status_code == 303
    page = writer.get(f"/runs/{run_id}").text
    assert "cancelling (cancelled by wendy)" in page
    assert f'action="/runs/{run_id}/cancel"' not in page  # asked once; the run ends after them
    execute(ui.state.service, tmp_path, [run_id])
    units = {u["job_id"]: u["conclusion"] for u in ui.state.service.store.units(run_id=run_id)}
    assert units["report"] == "success" and units["e2e"] == "cancelled"
