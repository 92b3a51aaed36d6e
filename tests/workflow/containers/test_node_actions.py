"""Vendored node actions: pre at the job's start, main, posts in reverse order at the end,
GITHUB_STATE -> STATE_*, INPUT_* with defaults as expressions, post-if, node version."""

from __future__ import annotations

from pathlib import Path

from conveyor.workflow.run.actions.store import ActionStore
from tests.workflow.containers.conftest import Repo
from tests.workflow.run.conftest import workflow

ACTION = """\
name: tracer
inputs:
  label: {required: true}
  who: {default: "${{ github.actor }}-x"}
runs:
  using: node20
  pre: pre.js
  main: main.js
  post: post.js
  post-if: POSTIF
"""
PRE = """
const fs = require('fs');
fs.appendFileSync(process.env.GITHUB_STATE, `from_pre=${process.env.INPUT_LABEL}\\n`);
console.log(`PRE ${process.env.INPUT_LABEL}`);
"""
MAIN = """
const fs = require('fs');
const e = process.env;
console.log(`MAIN ${e.INPUT_LABEL} pre-state=${e.STATE_from_pre} who=${e.INPUT_WHO}`);
fs.appendFileSync(process.env.GITHUB_STATE, `from_main=m-${process.env.INPUT_LABEL}\\n`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `seen=${process.env.INPUT_LABEL}\\n`);
"""
POST = """
console.log(`POST ${process.env.INPUT_LABEL} state=${process.env.STATE_from_main}`);
"""


def _vendor(tmp: Path, name: str, using: str = "node20", post_if: str = "always()") -> Path:
    src = tmp / f"src-{name}"
    src.mkdir()
    (src / "action.yml").write_text(ACTION.replace("POSTIF", post_if).replace("node20", using))
    (src / "pre.js").write_text(PRE)
    (src / "main.js").write_text(MAIN)
    (src / "post.js").write_text(POST)
    store = tmp / "store"
    ActionStore(store).vendor(f"acme/{name}@v1", str(src))
    return store


def test_pre_main_post_with_state_in_github_order(repo: Repo, tmp_path: Path) -> None:
    store = _vendor(tmp_path, "tracer")
    text = """
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - run: echo FIRST-STEP
          - id: a
            uses: acme/tracer@v1
            with: {label: A}
          - uses: acme/tracer@v1
            with: {label: B}
        outputs:
          seen: ${{ steps.a.outputs.seen }}
    """
    repo.write(workflow(text)).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(store)})
    assert out.code == 0, out.stderr
    lines = [ln.split("| ", 1)[-1] for ln in out.stderr.splitlines() if "] " in ln]
    marks = [ln for ln in lines if ln.startswith(("PRE", "MAIN", "POST", "FIRST"))]
    assert marks == [
        "PRE A",
        "PRE B",
        "FIRST-STEP",
        "MAIN A pre-state=A who=" + marks[3].split("who=")[1],
        "MAIN B pre-state=B who=" + marks[4].split("who=")[1],
        "POST B state=m-B",
        "POST A state=m-A",
    ]
    assert marks[3].endswith("-x")  # the default is an expression over github.actor
    assert out.jobs()["j"]["outputs"]["seen"] == "A"


def test_post_if_is_evaluated_with_the_job_status(repo: Repo, tmp_path: Path) -> None:
    store = _vendor(tmp_path, "tracer", post_if="success()")
    text = """
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - uses: acme/tracer@v1
            with: {label: A}
          - run: exit 3
    """
    repo.write(workflow(text)).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(store)})
    assert out.code == 1
    assert "MAIN A" in out.stderr
    assert "POST A" not in out.stderr


def test_node_version_too_old_names_the_needed_version(repo: Repo, tmp_path: Path) -> None:
    store = _vendor(tmp_path, "future", using="node99")
    text = """
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - uses: acme/future@v1
            with: {label: A}
    """
    repo.write(workflow(text)).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(store)})
    assert out.code == 1
    assert "needs Node.js 99 or newer" in out.stdout + out.stderr


def test_local_action_pre_is_skipped_with_githubs_warning(repo: Repo, tmp_path: Path) -> None:
    files = {
        ".github/actions/t/action.yml": ACTION.replace("POSTIF", "always()"),
        ".github/actions/t/pre.js": PRE,
        ".github/actions/t/main.js": MAIN,
        ".github/actions/t/post.js": POST,
    }
    text = """
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - uses: ./.github/actions/t
            with: {label: L}
    """
    repo.write({**workflow(text), **files}).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    assert "`pre` execution is not supported for local action from './.github/actions/t'" in (
        out.stderr
    )
    assert "PRE L" not in out.stderr
    assert "MAIN L pre-state=undefined" in out.stderr
    assert "POST L state=m-L" in out.stderr


def test_node_action_in_a_container_without_node_says_so(
    repo: Repo, tmp_path: Path, busybox: str
) -> None:
    store = _vendor(tmp_path, "tracer")
    text = f"""
    on: push
    jobs:
      j:
        runs-on: ubuntu-latest
        container: {busybox}
        steps:
          - uses: acme/tracer@v1
            with: {{label: A}}
    """
    repo.write(workflow(text)).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(store)})
    assert out.code == 1
    assert "needs an image with Node.js on its PATH" in out.stdout + out.stderr
