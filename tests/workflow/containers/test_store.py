"""The action store: `conveyor actions vendor|list|needed` (via click's CliRunner), Git
mirrors, and remote reusable workflows resolved from the store."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from conveyor.app.cmd_actions import actions
from conveyor.workflow.load import load_workflow
from conveyor.workflow.run.actions.resolve import ActionUnavailable, check_uses
from conveyor.workflow.run.actions.store import ActionStore, parse_ref
from tests.workflow.containers.conftest import Repo, git
from tests.workflow.run.conftest import workflow

COMPOSITE = """\
name: hello
runs:
  using: composite
  steps:
    - shell: sh
      run: echo "hello from ${{ github.action_path }}"
"""


def _git_repo(path: Path, files: dict[str, str], tag: str) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", ".")
    git(path, "commit", "-qm", "c")
    git(path, "tag", tag)
    return path


def test_parse_ref_table() -> None:
    cases = {
        "actions/checkout@v4": ("actions", "checkout", "", "v4"),
        "actions/cache/restore@v4": ("actions", "cache", "restore", "v4"),
        "o/r/.github/workflows/x.yml@main": ("o", "r", ".github/workflows/x.yml", "main"),
    }
    for uses, want in cases.items():
        ref = parse_ref(uses)
        assert ref is not None
        assert (ref.owner, ref.repo, ref.path, ref.ref) == want
    for bad in ("./local", "docker://busybox", "noref", "a@v1"):
        assert parse_ref(bad) is None


def test_vendor_list_and_needed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "action.yml").write_text(COMPOSITE)
    repo = _git_repo(tmp_path / "gitrepo", {"sub/action.yml": COMPOSITE}, "v2")
    cli = CliRunner()
    out = cli.invoke(
        actions, ["vendor", "acme/plain@v1", "--from", str(plain), "--action-dir", str(store)]
    )
    assert out.exit_code == 0, out.output
    out = cli.invoke(
        actions, ["vendor", "acme/fromgit@v2", "--from", str(repo), "--action-dir", str(store)]
    )
    assert out.exit_code == 0, out.output
    assert not (store / "acme/fromgit@v2/.git").exists()
    listed = cli.invoke(actions, ["list", "--action-dir", str(store)])
    assert listed.output.split() == ["acme/fromgit@v2", "acme/plain@v1"]
    project = tmp_path / "project"
    (project / ".github/workflows").mkdir(parents=True)
    (project / ".github/workflows/ci.yml").write_text(
        "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - uses: acme/fromgit/sub@v2\n"
        "      - uses: stefanprodan/git-sync@v2\n"
    )
    out = cli.invoke(actions, ["needed", "-C", str(project), "--action-dir", str(store)])
    assert out.exit_code == 1
    lines = [line.split("\t")[:2] for line in out.output.splitlines() if "\t" in line]
    assert lines == [
        ["actions/checkout@v4", "built-in"],
        ["acme/fromgit/sub@v2", "vendored"],
        ["stefanprodan/git-sync@v2", "MISSING"],
    ]
    assert "conveyor actions vendor stefanprodan/git-sync@v2 --from" in out.output


def test_git_mirror_in_the_store_serves_any_ref(tmp_path: Path) -> None:
    src = _git_repo(tmp_path / "src", {"action.yml": COMPOSITE}, "v3")
    store = tmp_path / "store"
    (store / "acme").mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--mirror", str(src), str(store / "acme/mirrored.git"))
    found = ActionStore(store).find(parse_ref("acme/mirrored@v3"))  # type: ignore[arg-type]
    assert found is not None
    assert (found / "action.yml").read_text() == COMPOSITE
    assert ActionStore(store).find(parse_ref("acme/mirrored@nope")) is None  # type: ignore[arg-type]


def test_remote_reusable_workflow_and_vendored_action_run(repo: Repo, tmp_path: Path) -> None:
    callee = (
        "on:\n  workflow_call:\n    outputs:\n      said:\n"
        "        value: ${{ jobs.b.outputs.said }}\n"
        "jobs:\n  b:\n    runs-on: x\n    outputs:\n      said: ${{ steps.s.outputs.said }}\n"
        "    steps:\n      - uses: acme/plain@v1\n"
        "      - id: s\n        run: echo said=remote >> $GITHUB_OUTPUT\n"
    )
    shared = _git_repo(tmp_path / "shared", {".github/workflows/build.yml": callee}, "v1")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "action.yml").write_text(COMPOSITE)
    store = ActionStore(tmp_path / "store")
    store.vendor("acme/shared@v1", str(shared))
    store.vendor("acme/plain@v1", str(plain))
    text = """
    on: push
    jobs:
      call:
        uses: acme/shared/.github/workflows/build.yml@v1
      after:
        needs: call
        runs-on: x
        steps:
          - run: test "${{ needs.call.outputs.said }}" = remote
    """
    repo.write(workflow(text)).commit()
    out = repo.run(env={"CONVEYOR_ACTIONS": str(store.root)})
    assert out.code == 0, out.stdout + out.stderr
    assert "hello from " + str(store.root / "acme/plain@v1") in out.stderr


def test_a_missing_subpath_of_a_vendored_repository_is_named_not_re_vendored(
    tmp_path: Path,
) -> None:
    store = ActionStore(tmp_path / "store")
    source = tmp_path / "src"
    source.mkdir()
    (source / "action.yml").write_text(COMPOSITE)
    vendored = CliRunner().invoke(
        actions, ["vendor", "acme/tools@v2", "--from", str(source), "--action-dir", str(store.root)]
    )
    assert vendored.exit_code == 0, vendored.output
    wf = tmp_path / "wf.yml"
    wf.write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: acme/tools/lint@v2\n"
    )
    try:
        check_uses([load_workflow(wf, root=tmp_path)], store)
    except ActionUnavailable as exc:
        text = str(exc)
    else:
        raise AssertionError("a missing subpath was accepted")
    assert "has no 'lint' directory" in text
    assert "conveyor actions vendor" not in text
