"""Live logs and downloads (issue 15): the stream sends lines written after it opened as
escaped HTML rows in capped batches, resumes from `Last-Event-ID`, ends with a `status`
event when the job ends; the downloads are the whole log, masked, streamed as attachments.
A real server (uvicorn) and a job written through the runner protocol of CIService."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.logjobs import start_job

SECRET = "s3cr3t-Value-42"


@dataclass(frozen=True)
class Event:
    name: str
    ident: str
    data: str

    @property
    def lines(self) -> list[int]:
        return [int(n) for n in re.findall(r'id="L(\d+)"', self.data)]


def _events(lines: Iterator[str]) -> Iterator[Event]:
    """Server-sent events as the EventSource spec reads them (comments skipped)."""
    name, ident, data = "message", "", []
    for line in lines:
        if line == "":
            if data:
                yield Event(name, ident, "\n".join(data))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "id":
                ident = value
            elif field == "data":
                data.append(value)


def test_the_stream_sends_new_lines_and_ends_with_the_job(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write(["⭐ Run make", "  | before"])
    signed = ui.sign_in(Role.READ)
    with signed.client.stream("GET", job.url + "/stream", params={"after": 2}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = _events(reply.iter_lines())
        job.write(["  | <img src=x onerror=alert(1)>", "  | \x1b[32mgreen\x1b[0m"])
        got = next(events)
        assert (got.name, got.ident, got.lines) == ("lines", "4", [3, 4])
        assert "&lt;img src=x onerror=alert(1)&gt;" in got.data and "<img" not in got.data
        assert '<span class="ansi-fg-2">green</span>' in got.data
        job.write(["▼ Tests", "    | test_a ok"])
        got = next(events)
        assert '<details class="grp"><summary>' in got.data and 'class="ln k-out g"' in got.data
        job.finish("success")
        end = next(events)
        assert end.name == "status"
        assert json.loads(end.data) == {"status": "completed", "conclusion": "success", "next": 6}
        assert list(events) == []  # and the stream is closed


def test_a_flood_of_lines_arrives_in_capped_batches(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write([f"  | line {n}" for n in range(1, 1201)])
    job.finish("success")
    signed = ui.sign_in(Role.READ)
    with signed.client.stream("GET", job.url + "/stream") as reply:
        events = list(_events(reply.iter_lines()))
    batches = [e.lines for e in events if e.name == "lines"]
    assert [len(b) for b in batches] == [500, 500, 200]
    assert [n for b in batches for n in b] == list(range(1, 1201))
    assert [e.ident for e in events] == ["500", "1000", "1200", "1200"]


def test_the_stream_resumes_after_the_last_event_id(ui: UI, tmp_path: Path) -> None:
    job = start_job(ui.state.service, tmp_path)
    job.write(["  | one", "  | two", "  | three"])
    job.finish("failure")
    signed = ui.sign_in(Role.READ)
    resumed = {"Last-Event-ID": "2"}
    with signed.client.stream("GET", job.url + "/stream", headers=resumed) as reply:
        events = list(_events(reply.iter_lines()))
    assert [(e.name, e.lines) for e in events] == [("lines", [3]), ("status", [])]
    assert json.loads(events[-1].data)["conclusion"] == "failure"


def test_the_download_is_the_whole_log_masked(ui: UI, tmp_path: Path) -> None:
    service = ui.state.service
    service.put_secret("repo:acme/app", "TOKEN", SECRET)
    job = start_job(service, tmp_path)
    texts = [f"  | line {n}" for n in range(1, 12_001)]
    texts[6_000] = f"  | curl -H 'token: {SECRET}'"
    job.write(texts)
    late = "later-registered-value"
    job.write([f"  | {late}"])
    service.put_secret("repo:acme/app", "LATE", late)  # known to the service from now on
    signed = ui.sign_in(Role.READ)
    reply = signed.get(job.url + "/log.txt")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/plain; charset=utf-8"
    assert reply.headers["content-disposition"] == 'attachment; filename="run-1-build.txt"'
    body = reply.text.split("\n")
    assert len(body) == 12_002 and body[-1] == ""  # every line, each ended by a newline
    assert body[0] == "  | line 1" and body[11_999] == "  | line 12000"
    assert body[6_000] == "  | curl -H 'token: ***'" and body[12_000] == "  | ***"
    assert SECRET not in reply.text and late not in reply.text
    page = signed.get(job.url + "?line=6001").text
    assert SECRET not in page and late not in page
    run = signed.get(f"/runs/{job.run_id}/log.txt")
    assert run.headers["content-disposition"] == 'attachment; filename="run-1.txt"'
    assert run.text.startswith("[build]   | line 1\n") and SECRET not in run.text
    assert run.text.count("\n") == 12_001
