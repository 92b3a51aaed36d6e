"""Page timings in a real browser, for the UI benches (`ui_log_page.py`, `ui_app_tree.py`).

Debian's Chromium driven by Playwright (as the browser tests do) opens a page with the
bench's session cookie, and the page's own Navigation Timing says when the server's answer
ended, when the document was parsed (DOMContentLoaded: the log or the tree is on screen,
since both are server-rendered) and when `load` fired (styles and scripts done). The median
of `runs` loads, each in a fresh page. `None` when Chromium or Playwright is missing.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # a bench may run without the dev tools: the browser rows are skipped
    sync_playwright = None  # type: ignore[assignment]

NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return [n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd];
}"""


@dataclass(frozen=True)
class Timing:
    response_end: float  # seconds from navigation start, medians
    content_loaded: float
    load: float


def browser_timing(url: str, client: httpx.Client, runs: int = 5) -> Timing | None:
    if not Path(CHROMIUM).exists() or sync_playwright is None:
        return None
    cookies = [
        {"name": c.name, "value": c.value or "", "url": str(client.base_url)}
        for c in client.cookies.jar
    ]
    samples: list[list[float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies(cookies)  # type: ignore[arg-type]
            for _ in range(runs + 1):  # the first load warms the browser's caches: not counted
                page = context.new_page()
                page.goto(url, wait_until="load")
                samples.append([v / 1000 for v in page.evaluate(NAVIGATION)])
                page.close()
        finally:
            browser.close()
    columns = list(zip(*samples[1:], strict=True))
    return Timing(*(statistics.median(c) for c in columns))


def print_timing(what: str, timing: Timing | None, target: float) -> None:
    if timing is None:
        print(f"{what} in Chromium: not measured (no `chromium` or playwright here)")
        return
    verdict = "met" if timing.content_loaded < target else "MISSED"
    print(
        f"{what} in Chromium (median): answer received {timing.response_end * 1000:.0f} ms, "
        f"on screen (DOMContentLoaded) {timing.content_loaded * 1000:.0f} ms, "
        f"load {timing.load * 1000:.0f} ms; target {target:.0f} s: {verdict}"
    )
