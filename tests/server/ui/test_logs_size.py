"""A job with 100,000 log lines (issue 15: "opens in under a second"): the page shows one
page of lines read through the store's index, pages link to each other, `?line=N` opens
the page that holds line N, and search filters the whole log in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.logjobs import LogJob, start_job

LINES = 100_000


def _big_job(ui: UI, tmp_path: Path) -> LogJob:
    job = start_job(ui.state.service, tmp_path)
    texts = [f"  | line {n}" + (" NeedLe" if n % 250 == 0 else "") for n in range(1, LINES + 1)]
    texts[41_998] = "  | 100% of 50_files done"
    job.write(texts, batch=10_000)
    return job


@contextmanager
def _statements(ui: UI) -> Iterator[list[str]]:
    """The SQL statements the server runs meanwhile."""
    seen: list[str] = []
    engine = ui.state.service.store.engine

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_100000_line_log_opens_on_its_last_page_with_few_statements(
    ui: UI, tmp_path: Path
) -> None:
    """What keeps the page fast at any size (timings are bench/ui_log_page.py's job): one
    page of rows, read through a bounded number of indexed statements."""
    job = _big_job(ui, tmp_path)
    signed = ui.sign_in(Role.READ)
    signed.get(job.url)  # warm up (templates compiled, caches filled)
    with _statements(ui) as statements:
        reply = signed.get(job.url)
    assert reply.status_code == 200
    assert len(statements) <= 12, statements
    html = reply.text
    assert html.count('class="ln') == 1000
    assert 'id="L100000"' in html and 'id="L99001"' in html and 'id="L99000"' not in html
    assert "Lines 99001–100000 of 100000" in html
    assert f'href="{job.url}?from=98001" rel="prev"' in html and 'rel="next"' not in html


def test_pages_link_to_each_other_and_line_n_opens_its_page(ui: UI, tmp_path: Path) -> None:
    job = _big_job(ui, tmp_path)
    signed = ui.sign_in(Role.READ)
    html = signed.get(f"{job.url}?line=54321").text
    assert "Lines 54001–55000 of 100000" in html and 'id="L54321"' in html
    assert f'href="{job.url}?from=53001" rel="prev"' in html
    assert f'href="{job.url}?from=55001" rel="next"' in html
    first = signed.get(f"{job.url}?from=1").text
    assert "Lines 1–1000 of 100000" in first and 'rel="prev"' not in first
    past = signed.get(f"{job.url}?from=200000").text  # past the end: the last lines
    assert "Lines 99001–100000 of 100000" in past


def test_search_finds_lines_across_the_whole_log_in_any_case(ui: UI, tmp_path: Path) -> None:
    job = _big_job(ui, tmp_path)
    signed = ui.sign_in(Role.READ)
    html = signed.client.get(job.url, params={"q": "needle"}).text
    found = html[html.find('<section class="hits"') :][:300]
    assert "400 lines contain “needle”" in html, found  # every 250th line
    assert f'href="{job.url}?line=250#L250">250</a>' in html
    assert f'href="{job.url}?line=100000#L100000">100000</a>' in html
    literal = signed.client.get(
        job.url, params={"q": "0% of 50_f"}
    ).text  # % and _ are not wildcards
    assert "1 line contain" in literal and "?line=41999#L41999" in literal


def test_search_hits_are_paged_with_a_more_link(ui: UI, tmp_path: Path) -> None:
    job = _big_job(ui, tmp_path)
    signed = ui.sign_in(Role.READ)
    html = signed.client.get(
        job.url, params={"q": "LINE 1"}
    ).text  # 1, 10…19, 100…199, 1000…: the 500th is 1388
    assert "500+ lines contain" in html
    more = f'href="{job.url}?q=LINE+1&amp;after=1388"'
    assert more in html, html[html.find("More results") - 200 : html.find("More results")]
    rest = signed.client.get(job.url, params={"q": "LINE 1", "after": "1388"}).text
    assert "?line=1389#L1389" in rest and "?line=1388#L1388" not in rest
