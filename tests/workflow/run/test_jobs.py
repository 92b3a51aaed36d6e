"""Job orchestration: needs, if, outputs, skipping, continue-on-error, timeouts, workspaces."""

from __future__ import annotations

import time
from pathlib import Path

from tests.workflow.run.conftest import Repo, workflow


def test_a_job_starts_when_its_own_needs_finish_not_at_a_stage_barrier(
    repo: Repo, tmp_path: Path
) -> None:
    # `slow` waits for a file that only `after_fast` (needs: fast) writes: with stage barriers
    # `after_fast` would wait for `slow`, and `slow` would give up after 20 s and fail.
    repo.write(
        workflow("""
        on: push
        jobs:
          fast:
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          slow:
            runs-on: ubuntu-latest
            steps:
              - run: for i in $(seq 200); do [ -f "$MARK" ] && exit 0; sleep 0.1; done; exit 1
          after_fast:
            needs: fast
            runs-on: ubuntu-latest
            steps: [{run: touch "$MARK"}]
    """)
    ).commit()
    out = repo.run("--env", f"MARK={tmp_path / 'mark'}")
    assert out.code == 0, out.stderr
    assert {n: j["result"] for n, j in out.jobs().items()} == {
        "fast": "success",
        "slow": "success",
        "after_fast": "success",
    }


def test_if_has_implicit_success_and_status_functions_see_ancestors(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps: [{run: exit 1}]
          implicit:
            needs: a
            if: needs.a.result == 'failure'
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          on_failure:
            needs: a
            if: failure()
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          named:
            needs: a
            if: ${{ failure('a') && needs.a.result == 'failure' }}
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          grandchild:
            needs: on_failure
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          always:
            needs: grandchild
            if: always()
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{ needs.grandchild.result }}" | grep -x skipped
    """)
    ).commit()
    out = repo.run()
    assert out.code == 1
    results = {n: j["result"] for n, j in out.jobs().items()}
    assert results == {
        "a": "failure",
        "implicit": "skipped",
        "on_failure": "success",
        "named": "success",
        "grandchild": "skipped",
        "always": "success",
    }


def test_needs_outputs_and_result_reach_direct_dependants_only(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          one:
            runs-on: ubuntu-latest
            outputs:
              word: ${{ steps.s.outputs.word }}
              late: ${{ env.LATE }}
            steps:
              - id: s
                run: echo "word=hello" >> "$GITHUB_OUTPUT"
              - run: echo "LATE=set-later" >> "$GITHUB_ENV"
          two:
            needs: one
            runs-on: ubuntu-latest
            outputs:
              seen: >-
                ${{ needs.one.outputs.word }}-${{ needs.one.result
                }}-${{ needs.one.outputs.late }}
            steps: [{run: "true"}]
          three:
            needs: two
            runs-on: ubuntu-latest
            outputs:
              indirect: x${{ needs.one.outputs.word }}x
            steps: [{run: "true"}]
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    jobs = out.jobs()
    assert jobs["one"]["outputs"] == {"word": "hello", "late": "set-later"}
    assert jobs["two"]["outputs"] == {"seen": "hello-success-set-later"}
    assert jobs["three"]["outputs"] == {"indirect": "xx"}


def test_job_continue_on_error_passes_the_run_and_dependants_see_success(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          flaky:
            runs-on: ubuntu-latest
            continue-on-error: true
            steps: [{run: exit 3}]
          after:
            needs: flaky
            runs-on: ubuntu-latest
            steps:
              - run: test "${{ needs.flaky.result }}" = success
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    assert out.result("flaky") == "failure"
    assert out.result("after") == "success"
    assert out.data is not None and out.data["result"] == "success"


def test_job_timeout_kills_the_process_group_and_fails_the_job(repo: Repo, tmp_path: Path) -> None:
    leak = tmp_path / "leaked"
    repo.write(
        workflow("""
        on: push
        jobs:
          slow:
            runs-on: ubuntu-latest
            timeout-minutes: ${{ 0.01 }}
            steps:
              - run: (sleep 3; touch "$LEAK") & sleep 30
              - if: always()
                id: cleanup
                run: echo "status=${{ job.status }}" >> "$GITHUB_OUTPUT"
    """)
    ).commit()
    out = repo.run("--env", f"LEAK={leak}")
    assert out.code == 1
    assert out.result("slow") == "failure"
    steps = out.jobs()["slow"]["steps"]
    assert steps[0]["outcome"] == "cancelled"
    assert steps[1]["outcome"] == "success"

    time.sleep(3.5)
    assert not leak.exists()


def test_step_timeout_fails_the_step_and_continue_on_error_concludes_success(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - id: slow
                timeout-minutes: 0.01
                continue-on-error: true
                run: sleep 30
              - id: next
                run: |
                  r="${{ steps.slow.outcome }}/${{ steps.slow.conclusion }}"
                  test "$r" = failure/success
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    steps = out.steps("j")
    assert (steps["slow"]["outcome"], steps["slow"]["conclusion"]) == ("failure", "success")
    assert steps["next"]["outcome"] == "success"


def test_each_job_gets_a_fresh_empty_workspace(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: test -z "$(ls -A)" && touch from-a
          b:
            needs: a
            runs-on: ubuntu-latest
            steps:
              - run: test ! -e from-a && test "$PWD" = "$GITHUB_WORKSPACE"
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr


def test_job_if_false_skips_and_skipped_needs_skip_dependants(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          off:
            if: github.event_name == 'pull_request'
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          dep:
            needs: off
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          report:
            needs: [off, dep]
            if: ${{ !cancelled() }}
            runs-on: ubuntu-latest
            steps:
              - run: test "${{ needs.dep.result }}" = skipped
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    assert [out.result(n) for n in ("off", "dep", "report")] == ["skipped", "skipped", "success"]


def test_job_if_sees_the_full_github_context(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          main_only:
            if: github.ref_name == 'main' && github.ref_type == 'branch'
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
          never:
            if: github.repository_owner == 'nobody-at-all'
            runs-on: ubuntu-latest
            steps: [{run: "true"}]
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    assert (out.result("main_only"), out.result("never")) == ("success", "skipped")


def test_container_jobs_fail_clearly_on_the_host_runner(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          boxed:
            runs-on: ubuntu-latest
            container: alpine:3
            steps: [{run: "true"}]
          plain:
            runs-on: ubuntu-latest
            strategy:
              max-parallel: ${{ github.event_name == 'push' && 1 || 2 }}
              matrix: {n: [1, 2]}
            steps: [{run: "true"}]
    """)
    ).commit()
    out = repo.run()
    assert out.code == 1
    assert out.result("boxed") == "failure"
    assert "container" in out.jobs()["boxed"]["annotations"][0]["message"]
    assert out.result("plain (1)") == out.result("plain (2)") == "success"
