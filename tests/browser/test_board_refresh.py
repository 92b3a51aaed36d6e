"""The board in Chromium (tests/browser/conftest.py: watched pages, screenshots on
failure): its body refreshes by itself through htmx under the strict CSP, never while the
keyboard focus is in it, and takes the browser to sign in when the session ends."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from conveyor.server.auth import Role
from tests.browser.conftest import Watched, off_loop, sign_in
from tests.server.ui.boardworld import World
from tests.server.ui.uiserver import UI


def test_the_board_refreshes_itself_but_not_under_the_keyboard_focus(
    ui: UI, tmp_path: Path, page: Watched
) -> None:
    world = World(service=ui.state.service, tmp=tmp_path)
    off_loop(world.push_app, "one")
    sign_in(page.page, ui.url, ui.state.auth.issue("reader", Role.READ))
    expect(page.page.locator('a[href="/runs/1"]')).to_be_visible()
    off_loop(world.push_app, "two")
    expect(page.page.locator('a[href="/runs/2"]')).to_be_visible(timeout=8000)  # no reload
    page.page.locator('a[href="/runs/1"]').focus()
    off_loop(world.push_app, "three")
    page.page.wait_for_timeout(4500)  # more than one refresh period
    expect(page.page.locator('a[href="/runs/3"]')).to_have_count(0)
    page.page.locator("h1").click()
    page.page.evaluate("document.activeElement.blur()")
    expect(page.page.locator('a[href="/runs/3"]')).to_be_visible(timeout=8000)


def test_when_the_session_ends_the_refresh_takes_the_browser_to_sign_in(
    ui: UI, page: Watched
) -> None:
    sign_in(page.page, ui.url, ui.state.auth.issue("reader", Role.READ))
    expect(page.page.locator("h1")).to_have_text("Pipeline board")
    ui.state.auth.store.access.revoke_token("reader")
    page.page.wait_for_url("**/login**", timeout=8000)
    assert page.page.locator('input[name="token"]').count() == 1
    assert page.page.locator("#board-body").count() == 0  # not a sign-in form inside the board
