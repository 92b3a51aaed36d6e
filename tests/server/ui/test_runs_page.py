"""The run page over a run that really executed (local pool, host mode): the job graph
with needs and matrix legs, annotations at file:line, the job summary rendered from
Markdown, artifacts to download with the session, and the live part htmx polls."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from conveyor.server.auth import Role
from conveyor.store.ci_logs import LogWindow
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import execute, push

CI = """name: CI
on: push
jobs:
  lint:
    name: Lint
    runs-on: ubuntu-latest
    steps:
      - name: Check sources
        run: |
          echo "::error file=src/app.py,line=7,col=3,title=Unused import::os is never used"
          echo "::warning file=README.md,line=2::spelling"
          {
            echo "# Lint report"; echo
            echo "| file | issues |"; echo "|---|---|"; echo "| src/app.py | 1 |"
          } >> "$GITHUB_STEP_SUMMARY"
          echo "lint findings" > report.txt
      - uses: actions/upload-artifact@v4
        with: {name: report, path: report.txt}
  build:
    needs: lint
    strategy:
      matrix:
        n: [1, 2]
        k: [a]
    runs-on: ubuntu-latest
    steps: [{run: "echo build ${{ matrix.n }}"}]
  deploy:
    needs: [lint, build]
    runs-on: ubuntu-latest
    steps: [{name: Ship, run: "exit 1"}]
"""


@pytest.fixture
def ran(ui: UI, tmp_path: Path) -> int:
    """A CI run that executed: lint → build (2 legs) → deploy (fails)."""
    [run_id] = push(ui.state.service, tmp_path, {"ci.yml": CI}, message="Add CI")
    execute(ui.state.service, tmp_path, [run_id])
    return run_id


def _cards(html: str) -> dict[str, str]:
    """Each job card's HTML by its key, and the stage number it sits in."""
    found: dict[str, str] = {}
    for number, stage in enumerate(html.split('<li class="stage">')[1:], start=1):
        cards = re.findall(
            r'id="job-([^"]+)">(.*?)</li>\s*(?=<li class="job-card|</ul>)', stage, re.S
        )
        found.update({key: f"stage {number}: {body}" for key, body in cards})
    return found


def test_job_graph_puts_jobs_in_columns_by_needs_and_groups_matrix_legs(ui: UI, ran: int) -> None:
    html = ui.sign_in(Role.READ).get(f"/runs/{ran}").text
    cards = _cards(html)
    assert set(cards) == {"lint", "build", "deploy"}
    assert cards["lint"].startswith("stage 1:")
    assert cards["build"].startswith("stage 2:")
    assert 'needs: <a href="#job-lint">lint</a>' in cards["build"]
    assert cards["deploy"].startswith("stage 3:")
    assert 'needs: <a href="#job-lint">lint</a>, <a href="#job-build">build</a>' in cards["deploy"]
    assert "2 matrix legs" in cards["build"]
    for n in (1, 2):
        link = f'<a href="/runs/{ran}/jobs/build%20%28{n}%2C%20a%29">build ({n}, a)</a>'
        assert link in cards["build"]
    assert f'<a class="job-title" href="/runs/{ran}/jobs/Lint">Lint</a>' in cards["lint"]
    assert "✓ success" in cards["lint"] and "✗ failure" in cards["deploy"]
    assert "Check sources" in cards["lint"]  # steps of a single job, with their state


def test_job_links_name_the_logs_job_column(ui: UI, ran: int) -> None:
    logged = {line.job for line in ui.state.service.store.log_lines(ran, LogWindow())}
    html = ui.sign_in(Role.READ).get(f"/runs/{ran}").text
    linked = {unquote(x) for x in re.findall(rf'href="/runs/{ran}/jobs/([^"]+)"', html)}
    assert linked == {"Lint", "build (1, a)", "build (2, a)", "deploy"}
    assert linked <= logged


def test_annotations_show_level_title_and_file_line(ui: UI, ran: int) -> None:
    html = ui.sign_in(Role.READ).get(f"/runs/{ran}").text
    notes = html[html.index('id="notes-h"') :]
    assert "2 errors, 1 warning" in notes
    error = notes[notes.index("note-error") : notes.index("note-warning")]
    assert "src/app.py:7:3" in error and "Unused import" in error and "os is never used" in error
    assert "README.md:2" in notes[notes.index("note-warning") :]


def test_summary_is_rendered_from_markdown(ui: UI, ran: int) -> None:
    html = ui.sign_in(Role.READ).get(f"/runs/{ran}").text
    summary = html[html.index('id="summaries-h"') :]
    assert "<h1>Lint report</h1>" in summary
    assert "<th>file</th>" in summary and "<td>src/app.py</td>" in summary


def test_artifacts_are_listed_and_downloaded_with_the_session(ui: UI, ran: int) -> None:
    reader = ui.sign_in(Role.READ)
    html = reader.get(f"/runs/{ran}").text
    assert f'href="/runs/{ran}/artifacts/report"' in html
    got = reader.get(f"/runs/{ran}/artifacts/report")
    assert got.status_code == 200 and got.headers["content-type"] == "application/gzip"
    assert got.content == ui.state.service.artifact_path(ran, "report").read_bytes()
    missing = reader.get(f"/runs/{ran}/artifacts/nope")
    assert missing.status_code == 404 and "has no artifact" in missing.text
    anonymous = ui.client().get(f"/runs/{ran}/artifacts/report")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_completed_run_is_not_polled(ui: UI, ran: int) -> None:
    reader = ui.sign_in(Role.READ)
    assert "hx-trigger" not in reader.get(f"/runs/{ran}").text
    live = reader.get(f"/runs/{ran}/live")
    assert live.status_code == 200 and 'id="run-live"' in live.text
    assert "hx-get" not in live.text and "<html" not in live.text


def test_run_not_yet_done_polls_its_live_part(ui: UI, tmp_path: Path) -> None:
    [run_id] = push(ui.state.service, tmp_path, {"ci.yml": CI})  # no runner: stays queued
    reader = ui.sign_in(Role.READ)
    for path in (f"/runs/{run_id}", f"/runs/{run_id}/live"):
        html = reader.get(path).text
        assert f'hx-get="/runs/{run_id}/live" hx-trigger="every 2s" hx-swap="outerHTML"' in html
    cards = _cards(reader.get(f"/runs/{run_id}").text)
    assert "queued" in cards["lint"] and "pending" in cards["deploy"]  # before any job ran


def test_unknown_run_is_a_404_page(ui: UI) -> None:
    reply = ui.sign_in(Role.READ).get("/runs/999")
    assert reply.status_code == 404 and "no run 999" in reply.text


def test_run_of_an_invalid_workflow_points_at_its_annotations(ui: UI, tmp_path: Path) -> None:
    bad = "name: Bad\non: push\njobs:\n  a:\n    needs: nope\n    runs-on: x\n    steps: []\n"
    [run_id] = push(ui.state.service, tmp_path, {"bad.yml": bad})
    html = ui.sign_in(Role.WRITE).get(f"/runs/{run_id}").text
    assert "No job ran: the workflow file is invalid (see the annotations)" in html
    assert ".github/workflows/bad.yml:4:3" in html and "Re-run" not in html
