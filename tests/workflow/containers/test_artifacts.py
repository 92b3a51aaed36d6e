"""Built-in upload-artifact / download-artifact (v4) across the jobs of one run."""

from __future__ import annotations

from tests.workflow.containers.conftest import Repo
from tests.workflow.run.conftest import workflow

ARTIFACTS = """
on: push
jobs:
  up:
    strategy:
      matrix:
        n: [1, 2, 3]
    runs-on: ubuntu-latest
    steps:
      - run: mkdir out && echo "leg ${{ matrix.n }}" > out/f${{ matrix.n }}.txt && touch out/.hidden
      - uses: actions/upload-artifact@v4
        with:
          name: part-${{ matrix.n }}
          path: out/
  single:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p r/sub && echo one > r/sub/a.txt
      - uses: actions/upload-artifact@v4
        with: {name: single, path: r}
      - id: again
        continue-on-error: true
        uses: actions/upload-artifact@v4
        with: {name: single, path: r}
      - run: echo two > r/sub/a.txt
      - id: overwrite
        uses: actions/upload-artifact@v4
        with: {name: single, path: r, overwrite: true}
      - id: none
        uses: actions/upload-artifact@v4
        with: {name: empty, path: nothing-here/, if-no-files-found: error}
        continue-on-error: true
    outputs:
      again: ${{ steps.again.outcome }}
      none: ${{ steps.none.outcome }}
      id: ${{ steps.overwrite.outputs.artifact-id }}
  down:
    needs: [up, single]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: {pattern: part-*, merge-multiple: true, path: merged}
      - uses: actions/download-artifact@v4
        with: {pattern: part-*, path: apart}
      - id: one
        uses: actions/download-artifact@v4
        with: {name: single, path: one}
      - run: |
          set -x
          test "$(cat merged/f1.txt)" = "leg 1"
          test "$(cat merged/f3.txt)" = "leg 3"
          test ! -e merged/.hidden
          test "$(cat apart/part-2/f2.txt)" = "leg 2"
          test "$(cat one/sub/a.txt)" = two
          test "${{ steps.one.outputs.download-path }}" = "$GITHUB_WORKSPACE/one"
"""


def test_upload_in_matrix_download_merged_in_a_dependent_job(repo: Repo) -> None:
    repo.write(workflow(ARTIFACTS)).commit()
    out = repo.run()
    assert out.code == 0, out.stdout + out.stderr
    single = out.jobs()["single"]["outputs"]
    assert single["again"] == "failure"  # names are unique per run without overwrite
    assert single["none"] == "failure"
    assert single["id"].isdigit()
    assert out.result("down") == "success"
