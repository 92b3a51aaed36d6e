"""The push spool and intake (issue 18): git's own post-receive hook reports each push, and
each ref update becomes one event, exactly once — real git, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conveyor.ci.service import CIService

CI = """name: CI
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def work(tmp_path: Path, service: CIService) -> Path:
    """A clone-to-be of acme/app with the workflow committed on main."""
    service.create_repo("acme/app")
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    (work / ".github/workflows").mkdir(parents=True)
    (work / ".github/workflows/ci.yml").write_text(CI)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "ci")
    return work


def _push(service: CIService, work: Path, *refspecs: str, by: str = "this server") -> str:
    """`git push` into the hosted repository, with the environment a server gives git: this
    one (the push is in flight here until `take`), one killed since, or none (a local push)."""
    push_id = service.pushes.spool.new_id()
    env = {
        "this server": lambda: service.pushes.receiving(push_id, repo="acme/app", pusher="ada"),
        "a killed server": lambda: service.pushes.spool.env(push_id, repo="acme/app", pusher="ada"),
        "nobody": dict,
    }[by]()
    _git(work, "push", "-q", str(service.repo_path("acme/app")), *refspecs, env=env)
    return push_id


def _runs(service: CIService) -> list[tuple[str, str]]:
    return sorted((r["ref"], r["sha"]) for r in service.store.runs(repo="acme/app"))


def test_one_push_of_two_branches_is_two_events_one_run_each(
    service: CIService, work: Path
) -> None:
    sha = _git(work, "rev-parse", "HEAD")
    push_id = _push(service, work, "HEAD:refs/heads/main", "HEAD:refs/heads/next")
    spooled = service.pushes.spool.path(push_id)
    assert stat.S_IMODE(spooled.stat().st_mode) == 0o600
    assert stat.S_IMODE(service.pushes.spool.root.stat().st_mode) == 0o700

    ids = asyncio.run(service.pushes.take(push_id))

    assert len(ids) == 2
    assert _runs(service) == [("refs/heads/main", sha), ("refs/heads/next", sha)]
    assert not spooled.exists()
    run = service.store.run(ids[0])
    assert run is not None and run["payload"]["pusher"]["name"] == "ada"


def test_a_spooled_push_handed_over_again_after_a_crash_adds_no_run(
    service: CIService, work: Path, tmp_path: Path
) -> None:
    push_id = _push(service, work, "HEAD:refs/heads/main")
    spooled = service.pushes.spool.path(push_id)
    kept = tmp_path / "kept"
    shutil.copy(spooled, kept)
    first = asyncio.run(service.pushes.take(push_id))
    shutil.copy(kept, spooled)  # the server died after recording the runs, before removing it

    again = asyncio.run(service.pushes.drain())

    assert (len(first), again) == (1, [])
    assert len(_runs(service)) == 1
    assert service.pushes.spool.pending() == []
    assert service.store.delivery(f"{push_id}/0") is not None


def test_drain_queues_pushes_left_in_the_spool_but_not_those_still_being_received(
    service: CIService, work: Path
) -> None:
    _push(service, work, "HEAD:refs/heads/main", by="a killed server")
    _git(work, "commit", "-q", "--allow-empty", "-m", "two")
    receiving = _push(service, work, "HEAD:refs/heads/topic")

    queued = asyncio.run(service.pushes.drain())

    assert [service.store.run(i)["ref"] for i in queued] == ["refs/heads/main"]  # type: ignore[index]
    assert [p.stem for p in service.pushes.spool.pending()] == [receiving]
    assert len(asyncio.run(service.pushes.take(receiving))) == 1


def test_a_push_that_did_not_come_through_the_server_starts_nothing(
    service: CIService, work: Path
) -> None:
    _push(service, work, "HEAD:refs/heads/main", by="nobody")
    assert service.pushes.spool.pending() == []
    assert asyncio.run(service.pushes.drain()) == []
    assert _runs(service) == []


def test_deleting_a_branch_is_recorded_and_starts_no_run(service: CIService, work: Path) -> None:
    asyncio.run(service.pushes.take(_push(service, work, "HEAD:refs/heads/gone")))
    push_id = _push(service, work, ":refs/heads/gone")

    assert asyncio.run(service.pushes.take(push_id)) == []
    recorded = service.store.delivery(f"{push_id}/0")
    assert recorded is not None and recorded["after"] == "0" * 40
    assert len(_runs(service)) == 1


def test_an_unreadable_spool_file_is_set_aside_and_logged_not_dropped(
    service: CIService, work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = service.pushes.spool
    broken = spool.path(spool.new_id())
    broken.write_text('{"id": "x"}\nnot a ref line\n')
    _push(service, work, "HEAD:refs/heads/main", by="a killed server")

    with caplog.at_level(logging.ERROR):
        queued = asyncio.run(service.pushes.drain())

    assert len(queued) == 1
    assert broken.with_name(broken.name + ".bad").exists()
    assert f"spooled push {broken.name} cannot be read" in caplog.text
    assert spool.pending() == []


def test_the_hook_is_installed_in_every_hosted_repository(service: CIService) -> None:
    hook = service.create_repo("acme/other") / "hooks" / "post-receive"
    assert os.access(hook, os.X_OK)
    assert "CONVEYOR_PUSH_SPOOL" in hook.read_text()
