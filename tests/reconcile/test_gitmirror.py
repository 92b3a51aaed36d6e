"""The Git mirror adapter: resolve branches/tags/SHAs, tree ids, exports, failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from conveyor.clients.errors import GitError
from conveyor.clients.gitmirror import GitMirror, mask_url

from .conftest import ConfigRepo, git


def test_resolve_tree_ids_and_export(repo: ConfigRepo, tmp_path: Path) -> None:
    repo.write("a/x.yaml", "x: 1\n")
    repo.write("b/y.yaml", "y: 1\n")
    first = repo.commit("one")
    git(repo.work, "tag", "v1")
    git(repo.work, "push", "-q", "origin", "v1")
    repo.write("b/y.yaml", "y: 2\n")
    second = repo.commit("two")
    mirror = GitMirror(repo.url, tmp_path / "cache")

    async def go() -> None:
        await mirror.fetch()
        assert await mirror.resolve("main") == second
        assert await mirror.resolve("HEAD") == second
        assert await mirror.resolve("v1") == first
        assert await mirror.resolve(first[:10]) == first
        assert await mirror.branch_of("HEAD") == "main"
        old = await mirror.tree_ids(first, ["a", "b", "missing"])
        new = await mirror.tree_ids(second, ["a", "b/", "."])
        assert old["a"] == new["a"] and old["b"] != new["b"]
        assert old["missing"] is None and new["."]
        await mirror.export(first, "b", tmp_path / "out")
        assert (tmp_path / "out" / "b" / "y.yaml").read_text() == "y: 1\n"
        assert not (tmp_path / "out" / "a").exists()
        with pytest.raises(GitError, match="revision 'nope' not found"):
            await mirror.resolve("nope")
        with pytest.raises(GitError, match="is not a branch"):
            await mirror.branch_of("v1")

    asyncio.run(go())


def test_fetch_failure_is_a_git_error_without_credentials(tmp_path: Path) -> None:
    mirror = GitMirror("https://user:s3cret@127.0.0.1:9/repo.git", tmp_path, timeout=10)
    with pytest.raises(GitError) as info:
        asyncio.run(mirror.fetch())
    assert "s3cret" not in str(info.value) and "s3cret" not in info.value.stderr
    assert mask_url("see https://u:t@h/x and http://h/y") == "see https://***@h/x and http://h/y"
