"""`conveyor run`: flags, validation before anything runs (exit 2), plan listing, JSON."""

from __future__ import annotations

from pathlib import Path

from tests.workflow.run.conftest import Repo, workflow

SIMPLE = """
    name: CI
    on:
      push:
        branches: [main]
      workflow_dispatch:
        inputs:
          level: {type: choice, options: [quick, full], default: quick}
          fast: {type: boolean, default: false}
    jobs:
      build:
        runs-on: ubuntu-latest
        strategy:
          matrix: {n: [1, 2]}
        outputs:
          level: ${{ inputs.level }}-${{ inputs.fast }}-${{ github.event.inputs.fast }}
        steps:
          - run: touch "$MARKER"
      test:
        needs: build
        runs-on: ubuntu-latest
        steps: [{run: "true"}]
"""


def test_json_document_has_the_interface_shape(repo: Repo) -> None:
    repo.write(workflow(SIMPLE)).write(
        {
            ".github/workflows/other.yml": """
        on:
          push:
            branches: [release]
        jobs:
          x:
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
    """
        }
    ).commit()
    out = repo.run("--env", "MARKER=/dev/null")
    assert out.code == 0, out.stderr
    data = out.data
    assert data is not None
    assert set(data) == {"result", "run_dir", "event", "workflows"}
    assert (data["result"], data["event"]) == ("success", "push")
    assert Path(data["run_dir"]).is_dir()
    by_path = {w["path"]: w for w in data["workflows"]}
    other = by_path[".github/workflows/other.yml"]
    assert (other["triggered"], other["jobs"]) == (False, [])
    assert "main" in other["reason"]
    ci = by_path[".github/workflows/ci.yml"]
    assert (ci["name"], ci["triggered"], ci["result"]) == ("CI", True, "success")
    job = next(j for j in ci["jobs"] if j["name"] == "build (1)")
    assert set(job) == {
        "id",
        "name",
        "matrix",
        "result",
        "outputs",
        "duration",
        "steps",
        "annotations",
        "parent",
    }
    assert (job["id"], job["matrix"], job["parent"]) == ("build", {"n": 1}, None)
    assert job["steps"] == [
        {
            "id": "__run",
            "name": 'Run touch "$MARKER"',
            "outcome": "success",
            "conclusion": "success",
        }
    ]
    assert next(j for j in ci["jobs"] if j["name"] == "test")["matrix"] is None


def test_workflow_dispatch_inputs_are_typed(repo: Repo) -> None:
    repo.write(workflow(SIMPLE)).commit()
    out = repo.run(
        "workflow_dispatch",
        "--input",
        "level=full",
        "--input",
        "fast=true",
        "--env",
        "MARKER=/dev/null",
    )
    assert out.code == 0, out.stderr
    assert out.jobs()["build (1)"]["outputs"] == {"level": "full-true-true"}
    bad = repo.run("workflow_dispatch", "--input", "fast=maybe")
    assert bad.code == 2
    assert "fast" in bad.stderr


def test_invalid_input_exits_2_before_anything_runs(repo: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo.write(workflow(SIMPLE)).write(
        {
            ".github/workflows/broken.yml": """
        on: push
        jobs:
          x:
            runs-on: ubuntu-latest
            steps:
              - run: echo
                outputs: {a: b}
    """
        }
    ).commit()
    out = repo.run("--env", f"MARKER={marker}")
    assert out.code == 2
    assert "broken.yml:" in out.stderr
    assert "Traceback" not in out.stderr
    assert not marker.exists()


def test_unknown_job_and_remote_action_exit_2(repo: Repo) -> None:
    repo.write(workflow(SIMPLE)).commit()
    unknown = repo.run("-j", "nope")
    assert unknown.code == 2
    assert "nope" in unknown.stderr
    assert "build" in unknown.stderr
    repo.write(
        workflow("""
        on: push
        jobs:
          x:
            runs-on: ubuntu-latest
            steps:
              - uses: some-org/not-vendored@v4
    """)
    ).commit()
    remote = repo.run(env={"CONVEYOR_ACTIONS": str(repo.home / "empty-store")})
    assert remote.code == 2
    assert "not in the action store" in remote.stderr
    assert "conveyor actions vendor some-org/not-vendored@v4 --from" in remote.stderr


def test_job_flag_runs_the_job_with_its_needs(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          a: {runs-on: ubuntu-latest, steps: [{run: "true"}]}
          b: {runs-on: ubuntu-latest, needs: a, steps: [{run: "true"}]}
          c: {runs-on: ubuntu-latest, steps: [{run: "true"}]}
    """)
    ).commit()
    out = repo.run("-j", "b")
    assert out.code == 0, out.stderr
    assert set(out.jobs()) == {"a", "b"}


def test_list_prints_the_plan_without_running(repo: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo.write(workflow(SIMPLE)).commit()
    out = repo.run("-l", "--env", f"MARKER={marker}", json_out=False)
    assert out.code == 0, out.stderr
    assert "ci.yml (CI): triggered" in out.stdout
    assert "build (1)" in out.stdout and "build (2)" in out.stdout
    assert "test needs: build" in out.stdout
    assert not marker.exists()


def test_failing_job_exits_1_and_prints_the_run_dir(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          x: {runs-on: ubuntu-latest, steps: [{run: exit 1}]}
    """)
    ).commit()
    out = repo.run(json_out=False)
    assert out.code == 1
    assert "run directory:" in out.stdout
    assert "failure" in out.stdout


LOCKED = """
    on: push
    {concurrency}
    jobs:
      {jobs}
"""
LOCK_STEP = """
        runs-on: ubuntu-latest
        steps:
          - run: |
              mkdir "$OUT/lock" || { echo "overlap"; exit 1; }
              sleep 0.3
              rmdir "$OUT/lock"
"""


def _locked_jobs(names: list[str]) -> str:
    return "\n      ".join(f"{n}:{LOCK_STEP}".replace("\n", "\n      ") for n in names)


def test_max_parallel_flag_limits_jobs_across_the_run(repo: Repo, tmp_path: Path) -> None:
    repo.write(workflow(LOCKED.format(concurrency="", jobs=_locked_jobs(["a", "b", "c"]))))
    repo.commit()
    (tmp_path / "free").mkdir()
    (tmp_path / "limited").mkdir()
    free = repo.run("--env", f"OUT={tmp_path / 'free'}")
    assert free.code == 1  # without the flag the jobs overlap
    out = repo.run("--env", f"OUT={tmp_path / 'limited'}", "--max-parallel", "1")
    assert out.code == 0, out.stderr
    assert {j["result"] for j in out.jobs().values()} == {"success"}


def test_workflow_level_concurrency_serialises_workflows(repo: Repo, tmp_path: Path) -> None:
    text = LOCKED.format(concurrency="concurrency: shared", jobs=_locked_jobs(["a"]))
    repo.write({".github/workflows/one.yml": text, ".github/workflows/two.yml": text}).commit()
    out = repo.run("--env", f"OUT={tmp_path}")
    assert out.code == 0, out.stderr
    assert [w["result"] for w in out.data["workflows"]] == ["success", "success"]  # type: ignore[index]


def test_vars_and_secret_file(repo: Repo, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text('# comment\nexport TOKEN="tok-123"\nOTHER=plain\n')
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  test "${{ vars.COLOR }}" = blue
                  test "${{ secrets.TOKEN }}" = tok-123
                  test "${{ secrets.OTHER }}" = plain
                  test -z "${{ vars.MISSING }}"
    """)
    ).commit()
    out = repo.run("--var", "COLOR=blue", "--secret-file", str(secrets))
    assert out.code == 0, out.stderr
    bad = repo.run("--var", "NOEQUALS")
    assert bad.code == 2
    assert "--var" in bad.stderr


def test_dry_run_validates_and_plans_without_running(repo: Repo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo.write(workflow(SIMPLE)).commit()
    out = repo.run("-n", "--env", f"MARKER={marker}", json_out=False)
    assert out.code == 0, out.stderr
    assert "dry run" in out.stdout
    assert not marker.exists()
    assert not repo.home.exists()


def test_dispatch_event_file_holds_the_inputs_with_defaults(repo: Repo) -> None:
    repo.write(
        workflow("""
        on:
          workflow_dispatch:
            inputs:
              level: {type: string, default: quick}
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  grep -q '"level": "quick"' "$GITHUB_EVENT_PATH"
    """)
    ).commit()
    out = repo.run("workflow_dispatch")
    assert out.code == 0, out.stderr + out.stdout


def test_worktree_flag_checks_out_uncommitted_changes(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: test "$(cat state.txt)" = "${{ vars.WANT }}"
    """)
    ).write({"state.txt": "committed\n"}).commit()
    repo.write({"state.txt": "edited\n"})
    assert repo.run("--var", "WANT=committed").code == 0
    out = repo.run("--var", "WANT=edited", "--worktree")
    assert out.code == 0, out.stderr
