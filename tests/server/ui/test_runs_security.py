"""Job-controlled text on the Runs pages is inert: payloads in the workflow and job names,
step names, matrix values, branch name, commit message, actor, annotations, job summary and
artifact name of a run that really executed come out escaped, and summary links with
`javascript:` targets are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.server.auth import Role
from tests.server.ui.conftest import UI
from tests.server.ui.runsupport import active_content, execute, push

BRANCH = '"><svg/onload=alert(1)>'
EVIL = """name: '<img src=x onerror=alert(2)>'
on: push
jobs:
  evil:
    name: '"><img src=x onerror=alert(3)>'
    runs-on: ubuntu-latest
    steps:
      - name: '<script>alert(4)</script>'
        run: |
          where='file=<img src=x onerror=alert(5)>.py,line=1'
          echo "::error $where,title=<script>alert(6)</script>::<img src=x onerror=alert(7)>"
          {
            echo '<script>alert(8)</script>'
            echo '<img src=x onerror=alert(9)>'
            echo '[click](javascript:alert(10))'
            echo '<a href="javascript:alert(11)">raw link</a>'
            echo '![pixel](data:image/svg+xml;base64,PHN2Zy8+)'
          } >> "$GITHUB_STEP_SUMMARY"
          echo x > out.txt
      - uses: actions/upload-artifact@v4
        with: {name: "it's #1 & (more)", path: out.txt}
  legs:
    strategy:
      matrix:
        v: ['<img src=x onerror=alert(13)>']
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


@pytest.fixture
def evil_run(ui: UI, tmp_path: Path) -> int:
    [run_id] = push(
        ui.state.service,
        tmp_path,
        {"evil.yml": EVIL},
        branch=BRANCH,
        message="<script>alert(14)</script>\n\nbody",
        pusher="<img src=x onerror=alert(15)>",
    )
    execute(ui.state.service, tmp_path, [run_id])
    return run_id


def test_run_page_renders_every_payload_as_text(ui: UI, evil_run: int) -> None:
    reader = ui.sign_in(Role.READ)
    for path in (f"/runs/{evil_run}", f"/runs/{evil_run}/live"):
        html = reader.get(path).text
        assert active_content(html) == [], path
    html = reader.get(f"/runs/{evil_run}").text
    for shown in (
        "&lt;img src=x onerror=alert(2)&gt;",  # workflow name
        "&#34;&gt;&lt;img src=x onerror=alert(3)&gt;",  # job name
        "&lt;script&gt;alert(4)&lt;/script&gt;",  # step name
        "&lt;img src=x onerror=alert(5)&gt;.py:1",  # annotation file:line
        "&lt;script&gt;alert(6)&lt;/script&gt;",  # annotation title
        "&lt;img src=x onerror=alert(7)&gt;",  # annotation message
        "&lt;script&gt;alert(8)&lt;/script&gt;",  # summary
        "&lt;img src=x onerror=alert(9)&gt;",
        "[click](javascript:alert(10))",  # a javascript: link stays text
        "&lt;a href=&quot;javascript:alert(11)&quot;&gt;raw link&lt;/a&gt;",
        "it&#39;s #1 &amp; (more)",  # artifact name (upload-artifact refuses < > and quotes)
        "&lt;img src=x onerror=alert(13)&gt;",  # matrix value in the leg's name
        "&lt;script&gt;alert(14)&lt;/script&gt;",  # commit message
        "&lt;img src=x onerror=alert(15)&gt;",  # actor
        "&#34;&gt;&lt;svg/onload=alert(1)&gt;",  # branch (in the ref)
    ):
        assert shown in html, shown
    assert "javascript:" not in html.replace("[click](javascript:alert(10))", "").replace(
        "&quot;javascript:alert(11)&quot;", ""
    )


def test_runs_list_renders_payloads_as_text(ui: UI, evil_run: int) -> None:
    reader = ui.sign_in(Role.READ)
    html = reader.get("/runs").text
    assert active_content(html) == []
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # workflow name
    assert "&#34;&gt;&lt;svg/onload=alert(1)&gt;" in html  # branch
    assert "&lt;img src=x onerror=alert(15)&gt;" in html  # actor
    filtered = reader.client.get("/runs", params={"branch": BRANCH}).text
    assert active_content(filtered) == [] and f'href="/runs/{evil_run}"' in filtered
    assert 'value="&#34;&gt;&lt;svg/onload=alert(1)&gt;"' in filtered  # the kept filter value


def test_artifact_named_with_url_characters_downloads_by_its_quoted_link(
    ui: UI, evil_run: int
) -> None:
    reader = ui.sign_in(Role.READ)
    quoted = "it%27s%20%231%20%26%20%28more%29"
    assert f'href="/runs/{evil_run}/artifacts/{quoted}"' in reader.get(f"/runs/{evil_run}").text
    assert reader.get(f"/runs/{evil_run}/artifacts/{quoted}").status_code == 200
