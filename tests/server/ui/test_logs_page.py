"""The job page (issue 15): status, steps with durations and conclusions, the log with
ANSI colours as classes, `::group::` folding, line anchors, everything user-controlled
escaped; a job written through the runner protocol of a real CIService."""

from __future__ import annotations

import re
from pathlib import Path

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.logjobs import start_job

XSS = '"><script>alert(1)</script><img src=x onerror=alert(1)>'


def test_log_lines_and_step_names_are_escaped(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write([f"⭐ Run {XSS}", f"  | {XSS}", f"▼ {XSS}", f"    | {XSS}"])
    job.report([{"id": "s1", "name": f"Run {XSS}", "conclusion": "success"}])
    html = ui.sign_in(Role.READ).get(job.url).text
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "onerror=alert(1)&gt;" in html  # the text is shown, inert
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5  # 4 lines + the step


def test_ansi_colours_become_classes_and_other_escapes_go(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write(["  | \x1b[31mred\x1b[0m plain \x1b[1;92mbright\x1b[0m \x1b[2K\x1b[44mon blue"])
    html = ui.sign_in(Role.READ).get(job.url).text
    assert '<span class="ansi-fg-1">red</span> plain ' in html
    assert '<span class="ansi-bold ansi-fg-10">bright</span>' in html
    assert '<span class="ansi-bg-4">on blue</span>' in html
    assert "\x1b" not in html and "style=" not in html


def test_groups_fold_into_details_and_end_with_unindented_output(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write(["⭐ Run make", "▼ Install deps", "    | pip install", "    | done", "  | after"])
    html = ui.sign_in(Role.READ).get(job.url).text
    group = re.search(r'<details class="grp">(.*?)</details>', html, re.S)
    assert group is not None
    assert "<summary>" in group.group(1) and "Install deps" in group.group(1)
    assert 'id="L3"' in group.group(1) and 'id="L4"' in group.group(1)
    assert 'id="L5"' not in group.group(1) and 'id="L5"' in html


def test_every_line_has_an_anchor_and_a_link_to_it(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write([f"  | line {n}" for n in range(1, 6)])
    html = ui.sign_in(Role.READ).get(job.url).text
    for n in range(1, 6):
        assert f'id="L{n}"' in html and f'href="#L{n}"' in html


def test_steps_show_conclusion_duration_and_link_to_their_line(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    checkout = ["⭐ Checkout", "  | ok", "✅ Success - Checkout [850ms]"]
    job.write([*checkout, "⭐ Test", "  | boom", "❌ Failure - Test [2m05s]"])
    job.report(
        [
            {"id": "a", "name": "Checkout", "outcome": "success", "conclusion": "success"},
            {"id": "b", "name": "Test", "outcome": "failure", "conclusion": "failure"},
        ]
    )
    job.finish("failure")
    html = ui.sign_in(Role.READ).get(job.url).text
    steps = re.search(r'<table class="steps">(.*?)</table>', html, re.S)
    assert steps is not None
    rows = steps.group(1)
    assert f'href="{job.url}?line=1#L1">Checkout' in rows and "0.8 s" in rows
    assert f'href="{job.url}?line=4#L4">Test' in rows and "2 min 5 s" in rows
    assert "✗ failure" in rows and "✓ success" in rows
    assert 'id="job-status"><span class="st st-failure">' in html
    assert "data-stream" not in html  # the job has ended: nothing to follow


def test_a_running_job_offers_a_reload_link_and_a_stream(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write(["⭐ Run make", "  | building"])
    html = ui.sign_in(Role.READ).get(job.url).text
    assert f'data-stream="{job.url}/stream?after=2"' in html
    assert f'<a href="{job.url}">reload</a>' in html
    assert "in progress" in html  # the running step


def test_job_names_with_spaces_and_slashes_are_reachable(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.name = "call / build (1, a)"
    job.write(["  | from the callee"])
    signed = ui.sign_in(Role.READ)
    assert job.url.endswith("/jobs/call%20%2F%20build%20%281%2C%20a%29")
    assert "from the callee" in signed.get(job.url).text
    assert signed.get(job.url + "/log.txt").text == "  | from the callee\n"


def test_the_page_needs_a_session_and_an_unknown_job_is_not_found(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    for path in (job.url, job.url + "/log.txt", job.url + "/stream", f"/runs/{job.run_id}/log.txt"):
        reply = ui.client().get(path)
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    signed = ui.sign_in(Role.READ)
    assert signed.get(f"/runs/{job.run_id}/jobs/nope").status_code == 404
    assert signed.get("/runs/999/jobs/build").status_code == 404
