"""Signing in, moving around and signing out in a real Chromium (issue 15), against a real
`conveyor server` process: the form contract, the session cookie's flags as the browser
stores them, keyboard navigation with a visible focus ring, the anti-framing headers as a
browser enforces them, dark and light, and a phone's width."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Watched, sign_in
from tests.server.conftest import Server

NAV = ["Board", "Runs", "Deployments", "Applications", "Admin"]
# The computed outline of the focused element, as the user sees it
OUTLINE = "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"


def test_signing_in_through_the_form_lands_on_the_board_and_signing_out_ends_it(
    conveyor: Server, page: Watched
) -> None:
    page.page.goto(f"{conveyor.url}/")
    assert page.page.url.startswith(f"{conveyor.url}/login")  # no session: the form
    sign_in(page.page, conveyor.url, conveyor.admin)
    assert page.page.get_by_role("heading", name="Pipeline board").is_visible()
    cookies = {c["name"]: c for c in page.page.context.cookies()}
    session = cookies["conveyor_session"]
    assert (session["httpOnly"], session["sameSite"], session["secure"]) == (True, "Strict", False)
    assert conveyor.admin not in session["value"]
    assert page.page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it

    page.page.get_by_role("button", name="Sign out").click()
    page.page.wait_for_url(f"{conveyor.url}/login")
    page.page.goto(f"{conveyor.url}/")
    assert page.page.url.startswith(f"{conveyor.url}/login?next=")
    assert "conveyor_session" not in {c["name"] for c in page.page.context.cookies()}


def test_a_wrong_token_shows_why_and_stays_on_the_form(conveyor: Server, page: Watched) -> None:
    page.allow(r"status of 401")  # the form comes back with 401, as it should
    page.page.goto(f"{conveyor.url}/login")
    page.page.fill('input[name="token"]', "cvy_not-a-token")
    page.page.get_by_role("button", name="Sign in").click()
    alert = page.page.get_by_role("alert")
    assert "That token is not valid" in alert.inner_text()
    assert page.page.url == f"{conveyor.url}/login"
    assert page.page.locator('input[name="token"]').is_visible()
    assert "conveyor_session" not in {c["name"] for c in page.page.context.cookies()}


def _focus_ring(page: Page) -> tuple[str, str, str]:
    """The focused element's text and computed outline (style, width)."""
    focused = page.locator(":focus")
    style, width = focused.evaluate(OUTLINE)
    return focused.inner_text().strip(), style, width


def test_tab_reaches_the_skip_link_and_every_section_with_a_visible_focus_ring(
    conveyor: Server, page: Watched
) -> None:
    sign_in(page.page, conveyor.url, conveyor.admin)
    link = page.page.get_by_role("link", name="Runs")
    unfocused = link.evaluate(OUTLINE)
    assert unfocused[0] == "none" or unfocused[1] == "0px"

    page.page.keyboard.press("Tab")
    text, style, width = _focus_ring(page.page)
    assert (text, style) == ("Skip to content", "solid") and width != "0px"
    assert page.page.locator(":focus").is_visible()  # it slides into view when focused
    reached = []
    for _ in range(len(NAV) + 2):
        page.page.keyboard.press("Tab")
        text, style, width = _focus_ring(page.page)
        assert style != "none" and width != "0px", f"{text!r} has no visible focus ring"
        reached.append(text)
    assert [t for t in reached if t in NAV] == NAV

    page.page.goto(f"{conveyor.url}/")
    page.page.keyboard.press("Tab")
    page.page.keyboard.press("Enter")  # the skip link moves focus to the content
    assert page.page.evaluate("document.activeElement.id") == "main"


class _OtherSite(http.server.BaseHTTPRequestHandler):
    """Another origin (another port) that tries to frame Conveyor, and a control page."""

    target = ""

    def do_GET(self) -> None:
        pages = {
            "/frames-conveyor": f'<iframe id="f" src="{self.target}/login"></iframe>',
            "/frames-itself": '<iframe id="f" src="/framable"></iframe>',
            "/framable": '<p id="inside">framable</p>',
        }
        body = pages.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write((body or "").encode())

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what the browser saw."""


@pytest.fixture
def other_site(conveyor: Server) -> Iterator[str]:
    handler = type("Handler", (_OtherSite,), {"target": conveyor.url})
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()
        thread.join(5)


def _framed(page: Page, url: str) -> str:
    """The framed document's URL once the frame has loaded."""
    page.goto(url)
    page.wait_for_load_state("load")
    child = page.locator("#f").element_handle().content_frame()
    assert child is not None
    return child.url


def test_another_origin_cannot_frame_the_ui(other_site: str, page: Watched) -> None:
    page.allow(r"frame-ancestors|favicon\.ico")  # the refusal itself; the other site's icon
    assert _framed(page.page, f"{other_site}/frames-itself").endswith("/framable")  # control
    assert _framed(page.page, f"{other_site}/frames-conveyor").startswith("chrome-error:")
    frame = page.page.frames[1]
    assert frame.locator('input[name="token"]').count() == 0
    assert any("frame-ancestors 'none'" in p for p in page.problems)


def _background(open_page: Callable[..., Watched], url: str, scheme: str) -> str:
    watched = open_page(color_scheme=scheme)
    watched.page.goto(url)
    return str(watched.page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_dark_and_light_schemes_paint_different_backgrounds(
    conveyor: Server, open_page: Callable[..., Watched]
) -> None:
    light = _background(open_page, f"{conveyor.url}/login", "light")
    dark = _background(open_page, f"{conveyor.url}/login", "dark")
    assert light == "rgb(255, 255, 255)"
    assert dark != light


@pytest.mark.parametrize("path", ["/", "/login"])
def test_a_phone_width_needs_no_horizontal_scroll(
    conveyor: Server, open_page: Callable[..., Watched], path: str
) -> None:
    phone = open_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    if path != "/login":
        sign_in(phone.page, conveyor.url, conveyor.admin)
    phone.page.goto(f"{conveyor.url}{path}")
    widths = phone.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[1] == 390
    assert widths[0] <= widths[1], f"{path} scrolls sideways at 390 px: {widths}"


def test_the_watcher_fails_a_page_whose_inline_script_the_csp_blocked(
    conveyor: Server, page: Watched
) -> None:
    """The guard the other browser tests rely on: an injected inline handler is blocked by
    the page's CSP, and the violation is what the watcher sees (so such a test fails)."""
    # expected here, and only here: Chromium's own report, the listener's, and the 404 of x
    page.allow(r"inline event handler violates|CSP violation: script-src-attr|/x\)$")
    page.page.goto(f"{conveyor.url}/login")
    page.page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=alert(1)>')"
    )
    page.page.wait_for_function("document.querySelector('img').complete")
    page.page.wait_for_timeout(200)
    assert any(p.startswith("console error: CSP violation: script-src-attr") for p in page.problems)
    assert page.unexpected() == []
