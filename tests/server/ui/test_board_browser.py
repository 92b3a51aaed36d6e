"""The board in a real browser (Debian's Chromium driven by Playwright): its body refreshes
by itself through htmx under the strict CSP, and never while the keyboard focus is in it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from conveyor.server.auth import Role
from tests.server.ui.boardworld import World
from tests.server.ui.conftest import UI

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def browser_page(ui: UI) -> Iterator[tuple[Page, list[str]]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make install installs it)")
    signed = ui.sign_in(Role.READ)
    cookies = [
        {"name": c.name, "value": c.value or "", "url": ui.url} for c in signed.client.cookies.jar
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies(cookies)  # type: ignore[arg-type]
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console", lambda m: problems.append(m.text) if "Content Security" in m.text else None
        )
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            yield page, problems
        finally:
            browser.close()


def _push(world: World, message: str) -> None:
    """`world.push_app` off this thread: Playwright's sync API keeps an event loop here."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(world.push_app, message).result()


def test_the_board_refreshes_itself_but_not_under_the_keyboard_focus(
    ui: UI, tmp_path: Path, browser_page: tuple[Page, list[str]]
) -> None:
    page, problems = browser_page
    world = World(service=ui.state.service, tmp=tmp_path)
    _push(world, "one")
    page.goto(ui.url + "/")
    expect(page.locator('a[href="/runs/1"]')).to_be_visible()
    _push(world, "two")
    expect(page.locator('a[href="/runs/2"]')).to_be_visible(timeout=8000)  # no reload
    page.locator('a[href="/runs/1"]').focus()
    _push(world, "three")
    page.wait_for_timeout(4500)  # more than one refresh period
    expect(page.locator('a[href="/runs/3"]')).to_have_count(0)
    page.locator("h1").click()
    page.evaluate("document.activeElement.blur()")
    expect(page.locator('a[href="/runs/3"]')).to_be_visible(timeout=8000)
    assert problems == []


def test_when_the_session_ends_the_refresh_takes_the_browser_to_sign_in(
    ui: UI, browser_page: tuple[Page, list[str]]
) -> None:
    page, problems = browser_page
    page.goto(ui.url + "/")
    expect(page.locator("h1")).to_have_text("Pipeline board")
    ui.state.auth.store.access.revoke_token("read-user")
    page.wait_for_url("**/login**", timeout=8000)
    assert page.locator('input[name="token"]').count() == 1
    assert page.locator("#board-body").count() == 0  # not a sign-in form inside the board
    assert problems == []
