"""The run page in Chromium (tests/browser/conftest.py: watched pages, screenshots on
failure): under the strict CSP, htmx polls the live part of a queued run and the page shows
the run's end without a reload; a completed run's page then stops polling; when the
session ends, the polling page goes to sign in."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conveyor.server.auth import Role
from tests.browser.conftest import Watched, off_loop, sign_in
from tests.server.ui.runsupport import execute, push
from tests.server.ui.test_runs_page import CI
from tests.server.ui.uiserver import UI


@pytest.fixture
def queued(ui: UI, tmp_path: Path) -> int:
    """A run waiting for a runner."""
    [run_id] = off_loop(push, ui.state.service, tmp_path, {"ci.yml": CI})
    return run_id


def test_queued_run_page_shows_the_runs_end_without_a_reload(
    ui: UI, queued: int, page: Watched, tmp_path: Path
) -> None:
    sign_in(page.page, ui.url, ui.state.auth.issue("wendy", Role.WRITE))
    page.page.goto(f"{ui.url}/runs/{queued}")
    assert "queued" in page.page.inner_text(".run-state")
    # the pool in its own thread; the page keeps being driven (and watched) meanwhile
    runner = threading.Thread(target=execute, args=(ui.state.service, tmp_path, [queued]))
    runner.start()
    while runner.is_alive():
        page.page.wait_for_timeout(100)
    expect(page.page.locator(".run-state")).to_contain_text("failure", timeout=8000)
    assert page.page.locator("#run-live[hx-trigger]").count() == 0  # polling stopped
    assert page.page.locator("#job-deploy").inner_text().count("failure") == 1


def test_polling_page_goes_to_sign_in_when_the_session_ends(
    ui: UI, queued: int, page: Watched
) -> None:
    sign_in(page.page, ui.url, ui.state.auth.issue("wendy", Role.WRITE))
    page.page.goto(f"{ui.url}/runs/{queued}")
    page.page.context.clear_cookies()  # the session is gone (signed out elsewhere, expired)
    page.page.wait_for_url(f"{ui.url}/login?next=%2Fruns%2F{queued}", timeout=8000)
    assert page.page.locator("input[name=token]").count() == 1
