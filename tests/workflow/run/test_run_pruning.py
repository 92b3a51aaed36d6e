"""Run directories are pruned (issue 11): each holds a full workspace copy, so `conveyor
run` keeps the last N of its repository (`--keep-runs`, `CONVEYOR_KEEP_RUNS`, default 20)
and removes older ones, never a run still in progress nor another repository's."""

from __future__ import annotations

import os
from pathlib import Path

from conveyor.workflow.run.rundir import create_run_dir, prune_runs
from tests.workflow.run.conftest import Repo, workflow


def _finished_runs(repo: Path, environ: dict[str, str], count: int) -> list[int]:
    numbers = []
    for _ in range(count):
        run = create_run_dir(repo, environ)
        os.close(run.lock)
        numbers.append(run.number)
    return numbers


def _left(base: Path) -> list[int]:
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit())


def test_prune_keeps_the_newest_runs_of_the_repository(tmp_path: Path) -> None:
    _finished_runs(tmp_path, {}, 5)
    removed = prune_runs(tmp_path, {}, keep=2)
    assert sorted(int(p.name) for p in removed) == [1, 2, 3]
    assert _left(tmp_path / ".conveyor" / "runs") == [4, 5]


def test_keep_zero_keeps_every_run(tmp_path: Path) -> None:
    _finished_runs(tmp_path, {}, 3)
    assert prune_runs(tmp_path, {}, keep=0) == []
    assert _left(tmp_path / ".conveyor" / "runs") == [1, 2, 3]


def test_a_run_in_progress_is_never_pruned(tmp_path: Path) -> None:
    running = create_run_dir(tmp_path, {})  # its lock stays held, as while a run goes on
    try:
        _finished_runs(tmp_path, {}, 2)
        prune_runs(tmp_path, {}, keep=1)
        assert _left(tmp_path / ".conveyor" / "runs") == [1, 3]
    finally:
        os.close(running.lock)


def test_under_conveyor_home_only_this_repositorys_runs_are_pruned(tmp_path: Path) -> None:
    environ = {"CONVEYOR_HOME": str(tmp_path / "home")}
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    other.mkdir()
    _finished_runs(other, environ, 2)  # runs 1, 2
    _finished_runs(one, environ, 3)  # runs 3, 4, 5
    prune_runs(one, environ, keep=1)
    assert _left(tmp_path / "home" / "runs") == [1, 2, 5]


def test_conveyor_run_prunes_after_each_run_and_says_so(repo: Repo) -> None:
    repo.write(workflow("on: push\njobs:\n  x: {runs-on: ubuntu-latest, steps: [{run: 'true'}]}\n"))
    repo.commit()
    for _ in range(2):
        assert repo.run("--keep-runs", "2").code == 0
    third = repo.run(env={"CONVEYOR_KEEP_RUNS": "2"})
    assert third.code == 0, third.stderr
    assert "removed 1 older run directories of this repository (keeping the last 2" in (
        third.stderr
    )
    assert _left(repo.home / "runs") == [2, 3]
