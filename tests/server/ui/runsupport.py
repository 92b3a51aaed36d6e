"""What the Runs page tests share: push workflows to a hosted repository of the UI's own
CI service (real git, real triggers), run the queued jobs with the real local runner pool
(host mode, in this process), and check that a page's HTML holds nothing that can run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

from conveyor.ci.jobuser import LocalIsolation, LocalMode
from conveyor.ci.pool import LocalPool
from conveyor.ci.service import CIService


def push(
    service: CIService,
    tmp: Path,
    workflows: dict[str, str],
    *,
    repo: str = "acme/app",
    branch: str = "main",
    message: str = "change",
    pusher: str = "alice",
    files: dict[str, str] | None = None,
) -> list[int]:
    """Commit `workflows` (file name → text, under .github/workflows) and `files` to the
    hosted `repo`, push to `branch` and hand the push to the service: the new runs' ids."""
    bare = service.create_repo(repo) if not service.repo_path(repo).exists() else None
    work = tmp / ("work-" + repo.replace("/", "-"))
    if not work.exists():
        work.mkdir(parents=True)
        _git(work, "init", "-q", "-b", "main")
    (work / ".github/workflows").mkdir(parents=True, exist_ok=True)
    for name, text in workflows.items():
        (work / ".github/workflows" / name).write_text(text)
    for name, text in (files or {}).items():
        (work / name).write_text(text)
    (work / "stamp").write_text(str(time.monotonic_ns()))
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", message)
    sha = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", str(bare or service.repo_path(repo)), f"HEAD:refs/heads/{branch}")
    return asyncio.run(
        service.handle_push(
            repo, ref=f"refs/heads/{branch}", before="0" * 40, after=sha, pusher=pusher
        )
    )


def execute(service: CIService, tmp: Path, run_ids: list[int], *, within: float = 60) -> None:
    """Run the queued jobs with the local pool (host mode) until these runs complete."""
    pool = LocalPool(
        service, maximum=2, isolation=LocalIsolation(mode=LocalMode.HOST, work_root=tmp / "jobs")
    )
    pool.prepare()

    async def until_done() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(pool.run(stop))
        deadline = time.monotonic() + within
        try:
            while not all(_done(service, r) for r in run_ids):
                assert time.monotonic() < deadline, f"runs {run_ids} did not complete"
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await task

    asyncio.run(until_done())


def _done(service: CIService, run_id: int) -> bool:
    run = service.store.run(run_id)
    return run is not None and run["status"] == "completed"


def _git(work: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=work, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


class Inert(HTMLParser):
    """Every way the page could run code: scripts not from /static, on* attributes,
    javascript:/data:/vbscript: links and sources, and the tags the payloads used."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"<script> {values}")
        if tag in ("img", "svg", "iframe", "object", "embed"):
            self.found.append(f"<{tag}> {values}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}={value}")
            target = (value or "").strip().lower().replace("\t", "")
            if name in ("href", "src", "action") and target.startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.found.append(f"{tag} {name}={value}")


def active_content(html: str) -> list[str]:
    """What in `html` could run (empty for an inert page)."""
    parser = Inert()
    parser.feed(html)
    return parser.found
