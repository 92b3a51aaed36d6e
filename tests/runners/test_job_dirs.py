"""Per-job directories: fresh, separate, cleanly named."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.runners.base import clean_name, make_job_dirs


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("build", "build"),
        ("build (1, a)", "build-1-a"),
        ("CI / test (ubuntu, 3.11)", "CI-test-ubuntu-3.11"),
        ("../../etc", "etc"),
        ("...", "job"),
        ("ünï", "n"),
        ("a" * 200, "a" * 80),
    ],
)
def test_clean_name(key: str, name: str) -> None:
    assert clean_name(key) == name


def test_each_job_gets_fresh_empty_directories(tmp_path: Path) -> None:
    first = make_job_dirs(tmp_path, "build (1, a)")
    (first.workspace / "file").write_text("x")
    second = make_job_dirs(tmp_path, "build (1, a)")  # same key again (or a clash)
    third = make_job_dirs(tmp_path, "build [1, a]")  # cleans to the same name
    roots = {first.root, second.root, third.root}
    assert len(roots) == 3
    for dirs in (second, third):
        assert list(dirs.workspace.iterdir()) == []
        assert dirs.temp.is_dir() and dirs.tool_cache.is_dir()
    assert first.root == tmp_path / "_work" / "build-1-a"
    assert second.root.name == "build-1-a-2"
    assert first.workspace.parent == first.temp.parent == first.root
