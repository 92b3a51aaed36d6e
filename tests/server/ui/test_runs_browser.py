"""The run page in Debian's Chromium (Playwright): under the strict CSP, htmx polls the
live part of a queued run and the page shows the run's end without a reload; a completed
run's page then stops polling. A screenshot is saved next to the test's files on failure."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import execute, push
from tests.server.ui.test_runs_page import CI

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make install` installs it")
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        found.close()


def _signed_in(browser: Browser, ui: UI) -> Page:
    page = browser.new_page()
    page.goto(ui.url + "/login")
    page.fill("input[name=token]", ui.state.auth.issue("wendy", Role.WRITE))
    page.click("button[type=submit]")
    page.wait_for_url(ui.url + "/")
    return page


@pytest.fixture
def queued(ui: UI, tmp_path: Path) -> int:
    """A run waiting for a runner (pushed before the browser starts its event loop)."""
    [run_id] = push(ui.state.service, tmp_path, {"ci.yml": CI})
    return run_id


def test_queued_run_page_shows_the_runs_end_without_a_reload(
    ui: UI, queued: int, browser: Browser, tmp_path: Path
) -> None:
    service, run_id = ui.state.service, queued
    page = _signed_in(browser, ui)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    try:
        page.goto(f"{ui.url}/runs/{run_id}")
        assert "queued" in page.inner_text(".run-state")
        # the pool in its own thread: playwright's event loop holds this one
        runner = threading.Thread(target=execute, args=(service, tmp_path, [run_id]))
        runner.start()
        while runner.is_alive():
            page.wait_for_timeout(100)
        expect(page.locator(".run-state")).to_contain_text("failure", timeout=8000)
        assert page.locator("#run-live[hx-trigger]").count() == 0  # polling stopped
        assert page.locator("#job-deploy").inner_text().count("failure") == 1
        assert errors == []
    except Exception:
        page.screenshot(path=str(tmp_path / "run-page.png"), full_page=True)
        raise


def test_polling_page_goes_to_sign_in_when_the_session_ends(
    ui: UI, queued: int, browser: Browser
) -> None:
    page = _signed_in(browser, ui)
    page.goto(f"{ui.url}/runs/{queued}")
    page.context.clear_cookies()  # the session is gone (signed out elsewhere, expired)
    page.wait_for_url(f"{ui.url}/login?next=%2Fruns%2F{queued}", timeout=8000)
    assert page.locator("input[name=token]").count() == 1
