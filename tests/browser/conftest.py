"""The web UI in a real browser (issue 15): Debian's Chromium driven by Playwright.

- `chromium`: one headless Chromium per test module (Playwright's own browser download is
  not used: `executable_path` is the system's `chromium`). Without it the browser tests are
  skipped with the reason, except under `CI=true`, where they fail. Not one per session:
  Playwright's sync API keeps an event loop running on the test thread while it is open,
  so every later test that calls `asyncio.run` (pushes, runner pools) would fail.
- `open_page(**context_options)`: a page in a fresh browser context (own cookies), with
  `page` as the default one. Every page is watched: console errors, uncaught exceptions,
  Content-Security-Policy violations (a `securitypolicyviolation` listener injected before
  any page script; injected over CDP, the listener itself is not subject to the page's CSP)
  and `alert`/`prompt` dialogs. A test whose pages saw any of them FAILS, unless it declared
  the message expected with `watched.allow(regex)`. `confirm` dialogs (the UI's
  `data-confirm` forms) are accepted and recorded.
- On failure, each page of the test is saved as `test-artifacts/browser/<test>.png` and
  `.html` (`pytest_runtest_makereport` tells the fixture how the test went).
- `conveyor`: a real `conveyor server` process on 127.0.0.1 (temporary data directory),
  shared by the module's tests; `sign_in(page, url, token)` goes through the form (the
  one way the browser tests put a session cookie into the browser).
- `ui`: the server's app in process (uvicorn in a thread, real store in the test's
  temporary directory), the same fixture as tests/server/ui's (`tests/server/ui/uiserver.py`),
  for tests that need the `ServerState` at hand. `off_loop(fn, *args)` calls what runs an
  event loop of its own (`asyncio.run`: pushes, the runner pool) in a worker thread, since
  Playwright's sync API keeps one running on the test's thread.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page, sync_playwright

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.server.conftest import Server, make_server
from tests.server.ui.uiserver import UI, serve_ui

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CONVEYOR_BROWSER_ARTIFACTS") or ROOT / "test-artifacts/browser")
# Reports every CSP violation as a console error the watcher recognises by its prefix.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " +
    (event.blockedURI || "inline") + " at " + event.sourceFile + ":" + event.lineNumber);
}, true);
"""
P = ParamSpec("P")
T = TypeVar("T")
PAGES = pytest.StashKey[list["Watched"]]()
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@dataclass
class Watched:
    """A page and what it logged that a working UI never logs."""

    page: Page
    problems: list[str] = field(default_factory=list)
    confirms: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect messages matching `pattern` (a test that provokes a refusal on purpose)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} ({where})")

    def _page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught exception: {error.message}")

    def _dialog(self, dialog: Dialog) -> None:
        if dialog.type == "confirm":
            self.confirms.append(dialog.message)
            dialog.accept()
            return
        self.problems.append(f"{dialog.type} dialog: {dialog.message!r}")
        dialog.dismiss()


def _watch(page: Page) -> Watched:
    watched = Watched(page=page)
    page.add_init_script(CSP_LISTENER)
    page.on("console", watched._console)
    page.on("pageerror", watched._page_error)
    page.on("dialog", watched._dialog)
    return watched


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.passed:
        problems = [p for w in item.stash.get(PAGES, []) for p in w.unexpected()]
        if problems:
            report.outcome = "failed"
            report.longrepr = "the page logged what a working UI never does:\n  " + "\n  ".join(
                problems
            )
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    return any(r.failed for r in item.stash.get(REPORTS, {}).values())


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)


def _forget(item: pytest.Item) -> None:
    """A test that passes now leaves no screenshot of an earlier failure behind."""
    if ARTIFACTS.is_dir():
        name = _artifact_name(item)
        for old in [*ARTIFACTS.glob(f"{name}.*"), *ARTIFACTS.glob(f"{name}-[0-9]*.*")]:
            old.unlink()


def _save(item: pytest.Item, pages: list[Watched]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = _artifact_name(item)
    for number, watched in enumerate(pages, start=1):
        name = base if number == 1 else f"{base}-{number}"
        try:
            watched.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(watched.page.content())
        except Error as exc:  # a closed page: say so beside the others
            (ARTIFACTS / f"{name}.txt").write_text(f"no screenshot: {exc.message}\n")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM}: `make install` (as root) installs Debian's chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(
    chromium: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Watched]]:
    """`open_page(**context_options)`: a watched page in a new context of its own."""
    pages: list[Watched] = []
    request.node.stash[PAGES] = pages

    def open_one(**options: Any) -> Watched:
        context = chromium.new_context(**options)
        context.set_default_timeout(15_000)
        watched = _watch(context.new_page())
        pages.append(watched)
        return watched

    yield open_one
    _forget(request.node)
    if _failed(request.node):
        _save(request.node, pages)
    for watched in pages:
        watched.page.context.close()


@pytest.fixture
def page(open_page: Callable[..., Watched]) -> Watched:
    return open_page()


@pytest.fixture(scope="module")
def conveyor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `conveyor server` process for the module's tests."""
    server = make_server(tmp_path_factory.mktemp("browser"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sign_in(page: Page, url: str, token: str) -> None:
    """Through the form, as a person would: the `token` field, then the Sign in button."""
    page.goto(f"{url}/login")
    page.fill('input[name="token"]', token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UI]:
    """The server's app in process, on a real store in this test's temporary directory."""
    with serve_ui(tmp_path / "server") as here:
        yield here


def off_loop(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call(*args, **kwargs)` in a worker thread, its result or exception here: for what
    runs its own event loop while Playwright's sync API holds this thread's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, *args, **kwargs).result()
