"""The demo tour done in a real browser (issue 15: "the demo tour can be done entirely in
the browser"), on the whole platform: `conveyor up` (real server, registry, reconciler on
real Podman), Chromium signed in with the admin token from `platform.json`'s token file.

The developer's push goes through git, as `conveyor demo` does (`Tour.commit`); everything
else is seen and done in the UI: the run appears on /runs and opens, a running job's log
grows without a reload (Server-Sent Events), the board shows the new commit in dev and
staging, prod is approved on /deployments with a comment, prod's URL serves the new version
(checked over HTTP) and the board and the app page show it, then Rollback on
/apps/demo-prod brings the previous version back. The REST API only tells the test which
run to look for and which job is running. Selectors are roles and names (`Approve`,
`Rollback`, links to `/runs/ID`), not layout.

Uses the demo's fixed NodePorts 30081-30083, as tests/e2e does (no `conveyor up` of your
own may run); runs with the other Podman suites (Makefile PODMAN_SUITES).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Frame, Locator, Page

from conveyor.app.tour import Pushed, Tour
from conveyor.app.uplaunch import UpProcess
from tests.browser.conftest import ARTIFACTS, Watched, sign_in
from tests.e2e.demoup import demo_up

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
COMMENT = "Approved in the browser tour"
WAIT = 180.0  # seconds any one stage may take on a busy 2-core machine
# The visible lines of the job's log (or of the page when it has no log element)
LOG_LINES = (
    "() => (document.querySelector('#log, .log') || document.querySelector('main'))"
    ".innerText.split('\\n').filter((line) => line.trim()).length"
)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    with demo_up(tmp_path) as runner:
        yield runner


class Steps:
    """The tour's stages as they pass, with their time (printed), and a screenshot of the
    page at each (`test-artifacts/browser/tour/NN-stage.png`, for the issue's note)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.started = time.monotonic()
        self.done: list[tuple[str, float]] = []
        self.shots = ARTIFACTS / "tour"
        shutil.rmtree(self.shots, ignore_errors=True)
        self.shots.mkdir(parents=True)

    def __call__(self, shot: str, name: str) -> None:
        now = time.monotonic()
        self.done.append((name, now - self.started))
        self.page.screenshot(path=str(self.shots / f"{len(self.done):02d}-{shot}.png"))
        self.started = time.monotonic()
        print(f"✓ {name} ({self.done[-1][1]:.1f}s)", flush=True)


def _until(page: Page, url: str, found: Callable[[], bool], what: str) -> None:
    """Open `url` again every second until `found()` holds on it (at most WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while True:
        response = page.goto(url)
        assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
        if found():
            return
        assert time.monotonic() < deadline, f"{url} never showed {what} within {WAIT:.0f}s"
        page.wait_for_timeout(1000)


def _served(url: str, version: str) -> None:
    """`url`/version answers `version` (over HTTP, as a user of the environment sees it)."""
    deadline = time.monotonic() + WAIT
    seen = ""
    while time.monotonic() < deadline:
        try:
            seen = httpx.get(f"{url}/version", timeout=2).text.strip()
        except httpx.TransportError as exc:
            seen = f"({exc.__class__.__name__})"
        if seen == version:
            return
        time.sleep(0.5)
    raise AssertionError(f"{url} serves {seen!r}, not {version!r}, after {WAIT:.0f}s")


def _env_card(page: Page, env: str) -> str:
    """The text of the board's block for `env`: the element around its heading."""
    heading = page.get_by_role("heading", name=re.compile(rf"^{re.escape(env)}\b"))
    if heading.count() == 0:
        return ""
    return str(heading.first.locator("xpath=..").inner_text())


def _open_run_from_list(page: Page, url: str, run_id: int, pushed: Pushed) -> None:
    link = page.locator(f'a[href="/runs/{run_id}"]')
    _until(page, f"{url}/runs", lambda: link.count() > 0, f"run #{run_id}")
    assert page.get_by_text(pushed.sha[:7]).count() > 0, "the runs list shows no commit"
    link.first.click()
    page.wait_for_url(f"{url}/runs/{run_id}")


def _running_job(tour: Tour, run_id: int, tried: set[str]) -> str | None:
    for job in tour.api.run(run_id).get("jobs", []):
        if job.get("status") == "in_progress" and job["name"] not in tried:
            return str(job["name"])
    return None


def _log_grows(page: Page, seconds: float) -> bool:
    """New log lines arrive on the open page without any navigation."""
    navigations: list[str] = []

    def navigated(frame: Frame) -> None:
        if frame == page.main_frame:
            navigations.append(frame.url)

    page.on("framenavigated", navigated)
    try:
        before = int(page.evaluate(LOG_LINES))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            page.wait_for_timeout(250)
            if int(page.evaluate(LOG_LINES)) > before:
                assert navigations == [], f"the page reloaded: {navigations}"
                return True
        return False
    finally:
        page.remove_listener("framenavigated", navigated)


def _watch_a_live_log(page: Page, url: str, tour: Tour, run_id: int) -> str:
    """Open the page of a job while it runs (from the run page's link) and see its log
    grow live; a job that ends before its page shows a new line is passed for the next."""
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.resource_type == "eventsource" else 0)
    tried: set[str] = set()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        name = _running_job(tour, run_id, tried)
        if name is None:
            time.sleep(0.2)
            continue
        tried.add(name)
        page.goto(f"{url}/runs/{run_id}")
        page.locator(f'a[href^="/runs/{run_id}/jobs/"]').filter(has_text=name).first.click()
        page.wait_for_url(re.compile(rf"/runs/{run_id}/jobs/"))
        if _log_grows(page, 30):
            assert streams, "the log grew without an EventSource stream"
            return name
    raise AssertionError(f"no job's log grew live (tried {sorted(tried)})")


def _review(page: Page, run_id: int, env: str) -> Locator:
    """The waiting review of `run_id` for `env` on /deployments: the innermost block that
    names the run and has an Approve button."""
    approve = page.get_by_role("button", name="Approve")
    blocks = page.locator("article, li, tr, section, div, form")
    return (
        blocks.filter(has_text=re.compile(rf"#{run_id}\b"))
        .filter(has_text=re.compile(rf"\b{env}\b"))
        .filter(has=approve)
        .last
    )


def _approve(page: Page, url: str, run_id: int, env: str) -> None:
    review = _review(page, run_id, env)
    _until(page, f"{url}/deployments", lambda: review.count() > 0, f"run #{run_id}'s review")
    review.locator('[name="comment"]').fill(COMMENT)
    review.get_by_role("button", name="Approve").click()
    page.wait_for_load_state("load")


def _rollback(page: Page, url: str, app: str) -> None:
    """Rollback on the app page (to the previous history entry: the UI's default, as
    `conveyor app rollback APP`); from its history page when the app page has none."""
    page.goto(f"{url}/apps/{app}")
    buttons = page.get_by_role("button", name=re.compile(r"^Roll ?back", re.I))
    if buttons.count() == 0:
        page.get_by_role("link", name=re.compile("history", re.I)).first.click()
        page.wait_for_load_state("load")
    assert buttons.count() > 0, f"no Rollback button for {app}"
    buttons.first.click()
    page.wait_for_load_state("load")


def test_the_demo_tour_in_the_browser(up: UpProcess, page: Watched) -> None:
    info = up.start()
    url, prod = info.server_url, info.environments["prod"]
    tour = Tour(info, timeout=WAIT)
    ui, step = page.page, Steps(page.page)
    try:
        sign_in(ui, url, info.token())
        step("sign-in", "signed in with the admin token of platform.json")
        for env in ("dev", "staging", "prod"):
            tour.wait_served(env, "1.0.0")

        pushed = tour.commit()
        run_id = int(tour.wait_run(pushed.sha)["id"])
        _open_run_from_list(ui, url, run_id, pushed)
        step("run", f"run #{run_id} of {pushed.sha[:7]} listed on /runs and opened")
        job = _watch_a_live_log(ui, url, tour, run_id)
        step("live-log", f"{job}'s log streamed live")

        for env in ("dev", "staging"):
            _until(ui, f"{url}/", lambda e=env: pushed.sha[:7] in _env_card(ui, e), f"{env} run it")
            step(f"board-{env}", f"the board shows {pushed.sha[:7]} in {env}")
        assert httpx.get(f"{prod}/version").text.strip() == "1.0.0"  # the gate holds

        _approve(ui, url, run_id, "prod")
        decided = {a["environment"]: a for a in tour.api.run(run_id)["approvals"]}["prod"]
        assert (decided["state"], decided["decided_by"]) == ("approved", "admin")
        assert decided["comment"] == COMMENT
        step("approve", "prod approved on /deployments with a comment")
        _served(prod, pushed.version)
        _until(ui, f"{url}/", lambda: pushed.sha[:7] in _env_card(ui, "prod"), "prod run it")
        _until(
            ui,
            f"{url}/apps/demo-prod",
            lambda: pushed.sha[:7] in ui.inner_text("main"),
            "the new image",
        )
        step("prod", f"prod serves {pushed.version}; the board and /apps/demo-prod show it")

        _rollback(ui, url, info.app_name("prod"))
        _served(prod, "1.0.0")
        step("rollback", "Rollback on /apps/demo-prod: prod serves 1.0.0 again")
    finally:
        tour.close()
        print("browser tour: " + ", ".join(f"{n} {s:.1f}s" for n, s in step.done))
