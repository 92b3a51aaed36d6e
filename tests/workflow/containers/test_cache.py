"""Built-in actions/cache on the host runner: GitHub's key, prefix and branch rules."""

from __future__ import annotations

from typing import Any

from tests.workflow.containers.conftest import Repo, git
from tests.workflow.run.conftest import workflow

CACHE = """
on: push
jobs:
  c:
    runs-on: ubuntu-latest
    outputs:
      hit: ${{ steps.cache.outputs.cache-hit }}
      matched: ${{ steps.cache.outputs.cache-matched-key }}
      data: ${{ steps.show.outputs.data }}
    steps:
      - id: cache
        uses: actions/cache@v4
        with:
          path: dep
          key: deps-${{ env.KEY }}
          restore-keys: |
            deps-
      - id: show
        run: |
          [ -f dep/data.txt ] || { mkdir -p dep; echo "$GITHUB_REF_NAME" > dep/data.txt; }
          echo "data=$(cat dep/data.txt)" >> "$GITHUB_OUTPUT"
"""


def _run(repo: Repo, key: str) -> dict[str, Any]:
    out = repo.run("--env", f"KEY={key}")
    assert out.code == 0, out.stderr
    return dict(out.jobs()["c"]["outputs"])


def test_cache_keys_prefixes_and_branch_scopes(repo: Repo) -> None:
    repo.write(workflow(CACHE)).commit()
    assert _run(repo, "1") == {"hit": "false", "matched": "", "data": "main"}
    assert _run(repo, "1") == {"hit": "true", "matched": "deps-1", "data": "main"}
    # a restore-key (prefix) hit restores but is not a cache hit; the post step saves deps-2
    assert _run(repo, "2") == {"hit": "false", "matched": "deps-1", "data": "main"}
    git(repo.root, "checkout", "-q", "-b", "feature-a")
    # the feature branch falls back to the default branch's newest matching cache
    assert _run(repo, "3") == {"hit": "false", "matched": "deps-2", "data": "main"}
    git(repo.root, "checkout", "-q", "main")
    git(repo.root, "checkout", "-q", "-b", "feature-b")
    (repo.root / "x").write_text("x")
    # feature-a saved deps-3 with its own data: a sibling branch never sees it
    assert _run(repo, "3") == {"hit": "false", "matched": "deps-2", "data": "main"}
    git(repo.root, "checkout", "-q", "feature-a")
    assert _run(repo, "3") == {"hit": "true", "matched": "deps-3", "data": "main"}


def test_cache_is_not_saved_when_the_job_fails(repo: Repo) -> None:
    failing = CACHE + "      - run: exit 1\n"
    repo.write(workflow(failing)).commit()
    out = repo.run("--env", "KEY=f")
    assert out.code == 1
    repo.write(workflow(CACHE)).commit()
    assert _run(repo, "f")["hit"] == "false"
