"""Steps: env precedence, environment files, defaults.run, outcomes, masking, annotations,
summaries, GITHUB_*/RUNNER_* variables, hashFiles."""

from __future__ import annotations

import json
from pathlib import Path

from tests.workflow.run.conftest import Repo, workflow


def test_env_precedence_and_env_files_apply_to_following_steps(repo: Repo, tmp_path: Path) -> None:
    tool = tmp_path / "bin"
    tool.mkdir()
    (tool / "mytool").write_text("#!/bin/sh\necho tool-ran\n")
    (tool / "mytool").chmod(0o755)
    repo.write(
        workflow("""
        on: push
        env: {A: wf, B: wf, C: wf}
        jobs:
          j:
            runs-on: ubuntu-latest
            env: {B: job, C: job}
            steps:
              - env: {C: step}
                run: test "$A/$B/$C" = wf/job/step && test -z "$LATER"
              - run: |
                  echo "LATER=from-file" >> "$GITHUB_ENV"
                  printf 'MULTI<<EOF\\nl1\\nl2\\nEOF\\n' >> "$GITHUB_ENV"
                  echo "$TOOLDIR" >> "$GITHUB_PATH"
                  test -z "$LATER"
              - run: |
                  test "$LATER" = from-file
                  test "$(printf '%s' "$MULTI" | wc -l)" = 1
                  test "$(mytool)" = tool-ran
                  test "${{ env.LATER }}" = from-file
              - env: {LATER: step-wins}
                run: test "$LATER" = step-wins
    """)
    ).commit()
    out = repo.run("--env", f"TOOLDIR={tool}")
    assert out.code == 0, out.stderr + out.stdout


def test_defaults_run_and_working_directory(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        defaults:
          run: {shell: sh, working-directory: wfdir}
        jobs:
          wf:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: test "$(basename "$PWD")" = wfdir
          job:
            runs-on: ubuntu-latest
            defaults:
              run: {working-directory: jobdir}
            steps:
              - uses: actions/checkout@v4
              - run: test "$(basename "$PWD")" = jobdir
              - working-directory: wfdir
                shell: bash
                run: test "$(basename "$PWD")" = wfdir && test -n "$BASH_VERSION"
    """)
    )
    repo.write({"wfdir/.keep": "", "jobdir/.keep": ""}).commit()
    out = repo.run()
    assert out.code == 0, out.stderr + out.stdout


def test_step_outputs_outcome_conclusion_and_status_functions(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - id: ok
                run: echo "v=1" >> "$GITHUB_OUTPUT"
              - id: soft
                continue-on-error: true
                run: exit 4
              - id: still
                run: test "${{ steps.ok.outputs.v }}${{ steps.soft.outcome }}" = 1failure
              - id: hard
                run: exit 1
              - id: skipped
                run: "true"
              - id: onfail
                if: failure()
                run: test "${{ job.status }}" = failure
    """)
    ).commit()
    out = repo.run()
    assert out.code == 1
    steps = out.steps("j")
    assert {k: (s["outcome"], s["conclusion"]) for k, s in steps.items()} == {
        "ok": ("success", "success"),
        "soft": ("failure", "success"),
        "still": ("success", "success"),
        "hard": ("failure", "failure"),
        "skipped": ("skipped", "skipped"),
        "onfail": ("success", "success"),
    }


def test_secrets_and_add_mask_are_masked_in_console_and_logs(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "secret: ${{ secrets.MY_SECRET }}"
                  echo "line two: $TWO"
                  echo "::add-mask::dynamic-value"
                  echo "later: dynamic-value"
                env:
                  TWO: ${{ secrets.MULTI }}
    """)
    ).commit()
    out = repo.run(
        "--secret",
        "MY_SECRET=hunter2-pass",
        "--secret",
        "MULTI",
        env={"MULTI": "first\nsecond-line"},
    )
    assert out.code == 0, out.stderr
    assert out.data is not None
    logs = "".join(p.read_text() for p in Path(out.data["run_dir"]).rglob("*.log"))
    for text in (out.stderr, logs):
        assert "secret: ***" in text
        assert "hunter2-pass" not in text
        assert "second-line" not in text
        assert "dynamic-value" not in text
        assert "later: ***" in text


def test_annotations_and_step_summaries_are_collected_per_job(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo "::error file=a.py,line=3,title=Bad::broken thing"
                  echo "::warning::careful"
                  echo "## one" >> "$GITHUB_STEP_SUMMARY"
              - run: echo "## two" >> "$GITHUB_STEP_SUMMARY"
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    notes = out.jobs()["j"]["annotations"]
    assert notes[0] == {
        "level": "error",
        "message": "broken thing",
        "file": "a.py",
        "line": 3,
        "title": "Bad",
    }
    assert notes[1] == {"level": "warning", "message": "careful"}
    assert out.data is not None
    summary = Path(out.data["run_dir"]) / "ci" / "j" / "summary.md"
    assert summary.read_text() == "## one\n## two\n"
    assert (Path(out.data["run_dir"]) / "ci" / "j" / "01-__run.log").exists()


def test_github_and_runner_variables_and_event_payload(repo: Repo) -> None:
    names = [
        "GITHUB_ACTIONS",
        "CI",
        "GITHUB_WORKSPACE",
        "GITHUB_EVENT_PATH",
        "GITHUB_EVENT_NAME",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_REF_TYPE",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_OWNER",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_NUMBER",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_JOB",
        "GITHUB_ACTOR",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_WORKFLOW",
        "GITHUB_WORKFLOW_REF",
        "GITHUB_ACTION",
        "GITHUB_SERVER_URL",
        "GITHUB_API_URL",
        "GITHUB_GRAPHQL_URL",
        "GITHUB_RETENTION_DAYS",
        "GITHUB_OUTPUT",
        "GITHUB_ENV",
        "GITHUB_PATH",
        "GITHUB_STATE",
        "GITHUB_STEP_SUMMARY",
        "RUNNER_OS",
        "RUNNER_ARCH",
        "RUNNER_NAME",
        "RUNNER_TEMP",
        "RUNNER_TOOL_CACHE",
        "RUNNER_ENVIRONMENT",
    ]
    checks = "\n".join(f'test -n "${{{n}:-}}" || {{ echo "missing {n}"; exit 1; }}' for n in names)
    repo.write(
        workflow(
            """
        name: Vars
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - id: vars
                run: |
                  CHECKS
                  test "$GITHUB_ACTIONS/$CI/$GITHUB_REF/$GITHUB_JOB" = true/true/refs/heads/main/j
                  test "$GITHUB_WORKFLOW" = Vars && test "$RUNNER_OS" = Linux
                  test -z "${HOST_ONLY:-}"
                  echo "sha=${{ github.sha }}" >> "$GITHUB_OUTPUT"
                  echo "ref=${{ github.ref_name }}" >> "$GITHUB_OUTPUT"
                  echo "token=${{ secrets.GITHUB_TOKEN != '' }}" >> "$GITHUB_OUTPUT"
                  grep -q '"ref": "refs/heads/main"' "$GITHUB_EVENT_PATH"
    """.replace("CHECKS", checks.replace("\n", "\n                  "))
        )
    ).commit()
    out = repo.run(env={"HOST_ONLY": "leak"})
    assert out.code == 0, out.stderr
    assert out.data is not None
    payload = json.loads((Path(out.data["run_dir"]) / "event.json").read_text())
    outputs = out.jobs()["j"]["steps"]
    assert outputs[0]["outcome"] == "success"
    assert payload["ref"] == "refs/heads/main"


def test_hash_files_hashes_the_job_workspace(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - run: echo data > lock.txt
              - run: |
                  test -n "${{ hashFiles('**/lock.txt') }}"
                  test -z "${{ hashFiles('missing/**') }}"
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr + out.stdout


def test_default_variables_cannot_be_overridden_by_env(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        env: {GITHUB_REF: refs/heads/fake, MY_VAR: mine}
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - env: {RUNNER_OS: Plan9}
                run: |
                  test "$GITHUB_REF" = refs/heads/main
                  test "$RUNNER_OS" = Linux
                  test "$MY_VAR" = mine
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr + out.stdout
