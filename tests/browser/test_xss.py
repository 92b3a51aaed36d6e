"""Job-controlled text is inert in a real browser (issue 15): a run pushed to a branch whose
name is markup, with a workflow, job, step, commit message, annotation and job summary that
carry payloads and a log that prints `<script>` tags. The runs list, the run page, every
job page (its live log included) and the board are opened in Chromium: no dialog may fire
and no CSP violation may be logged (the watcher fails the test on either), no element may
carry an inline handler, no inline script may be in the page, and the payloads that a page
shows (branch, step name, log lines) appear as the literal text they are."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.browser.conftest import Watched, sign_in
from tests.gitutil import commit, git, init
from tests.server.conftest import Server

BRANCH = "<svg/onload=alert('branch')>"
STEP = "<img src=x onerror=alert('step')>"
LOG = "<script>alert('log')</script>"
LOG_ATTR = '"><img src=x onerror=alert("log-attr")>'
WORKFLOW = f"""name: "<img src=x onerror=alert('workflow')>"
on: push
jobs:
  build:
    name: "\\"><img src=x onerror=alert('job')>"
    runs-on: ubuntu-latest
    steps:
      - name: "{STEP}"
        env:
          REF: ${{{{ github.ref_name }}}}
        run: |
          echo "{LOG}"
          echo '{LOG_ATTR}'
          echo "branch $REF"
          echo "::error file=app.py,line=3::<img src=x onerror=alert('annotation')>"
          echo "<script>alert('summary')</script><img src=x onerror=alert('summary')>" \\
            >> "$GITHUB_STEP_SUMMARY"
"""
# Inline handlers or scripts that the page's own markup never has (the UI's scripts are files)
ACTIVE = (
    "[...document.querySelectorAll('*')].filter(e => [...e.attributes].some("
    "a => a.name.startsWith('on'))).length + "
    "document.querySelectorAll('script:not([src])').length"
)


def _push_payloads(server: Server, work: Path) -> str:
    """demo/xss with the workflow above, pushed over HTTP to the payload branch; its SHA."""
    server.api("POST", "/api/v1/repos", json={"name": "demo/xss"}).raise_for_status()
    init(work)
    git(work, "remote", "add", "origin", f"{server.url}/git/demo/xss.git")
    sha = commit(
        work, "<img src=x onerror=alert('commit')>", {".github/workflows/ci.yml": WORKFLOW}
    )
    auth = f"http.extraHeader=Authorization: Bearer {server.admin}"
    git(work, "-c", auth, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH}")
    return sha


def _visit(page: Page, url: str) -> str:
    """Open `url`; it must load and carry no active markup. Its visible text."""
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    page.wait_for_load_state("load")
    assert page.evaluate(ACTIVE) == 0, f"{url} has an inline handler or script"
    return page.locator("body").inner_text()


def test_payloads_in_branch_step_and_log_are_inert_text_on_run_and_job_pages(
    conveyor: Server, page: Watched, tmp_path: Path
) -> None:
    _push_payloads(conveyor, tmp_path / "work")
    run_id = int(conveyor.wait_runs("demo/xss", 1)[0]["id"])  # type: ignore[call-overload]
    conveyor.wait_run(run_id)
    sign_in(page.page, conveyor.url, conveyor.admin)

    seen = [_visit(page.page, f"{conveyor.url}/"), _visit(page.page, f"{conveyor.url}/runs")]
    seen.append(_visit(page.page, f"{conveyor.url}/runs/{run_id}"))
    jobs = page.page.locator(f'a[href^="/runs/{run_id}/jobs/"]')
    hrefs = sorted({str(jobs.nth(i).get_attribute("href")) for i in range(jobs.count())})
    assert hrefs, "the run page links no job page"
    for href in hrefs:
        seen.append(_visit(page.page, f"{conveyor.url}{href}"))
        page.page.get_by_text(LOG, exact=False).first.wait_for()  # the log, live or not
        seen.append(page.page.locator("body").inner_text())
    text = "\n".join(seen)
    for payload in (BRANCH, STEP, LOG, LOG_ATTR, f"branch {BRANCH}"):
        assert payload in text, f"{payload!r} is not shown as text"
    page.page.wait_for_timeout(300)  # a late handler would fire now; the watcher sees it
