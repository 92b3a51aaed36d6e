"""strategy.matrix, fail-fast, max-parallel, concurrency groups."""

from __future__ import annotations

from pathlib import Path

from tests.workflow.run.conftest import Repo, workflow


def test_dynamic_matrix_from_needs_outputs_names_legs_like_github(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          plan:
            runs-on: ubuntu-latest
            outputs:
              m: ${{ steps.m.outputs.m }}
            steps:
              - id: m
                run: echo 'm={"n":[1,2],"x":["a"],"include":[{"n":3,"x":"b"}]}' >> "$GITHUB_OUTPUT"
          build:
            needs: plan
            runs-on: ubuntu-latest
            strategy:
              matrix: ${{ fromJSON(needs.plan.outputs.m) }}
            outputs:
              last: ${{ strategy.job-index }}/${{ strategy.job-total }}
            steps:
              - id: s
                run: echo "leg=${{ matrix.n }}${{ matrix.x }}" >> "$GITHUB_OUTPUT"
    """)
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    jobs = out.jobs()
    assert {"build (1, a)", "build (2, a)", "build (3, b)"} <= set(jobs)
    assert jobs["build (2, a)"]["matrix"] == {"n": 2, "x": "a"}
    assert jobs["build (2, a)"]["outputs"] == {"last": "1/3"}


def test_matrix_flag_filters_legs(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            strategy:
              matrix: {os: [linux, mac], py: ["3.11", "3.12"]}
            steps: [{run: "true"}]
    """)
    ).commit()
    out = repo.run("--matrix", "os:mac")
    assert out.code == 0, out.stderr
    assert set(out.jobs()) == {"t (mac, 3.11)", "t (mac, 3.12)"}


def test_fail_fast_cancels_running_and_queued_legs(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          running:
            runs-on: ubuntu-latest
            strategy:
              matrix: {n: [1, 2]}
            steps:
              - run: if [ ${{ matrix.n }} = 1 ]; then sleep 0.5; exit 1; fi; sleep 60
          queued:
            runs-on: ubuntu-latest
            strategy:
              max-parallel: 1
              matrix: {n: [1, 2, 3]}
            steps:
              - run: exit ${{ matrix.n }}
          nofailfast:
            runs-on: ubuntu-latest
            strategy:
              fail-fast: false
              matrix: {n: [1, 2]}
            steps:
              - run: exit $(( ${{ matrix.n }} - 1 ))
    """)
    ).commit()
    out = repo.run()
    assert out.code == 1
    results = {n: j["result"] for n, j in out.jobs().items()}
    assert results == {
        "running (1)": "failure",
        "running (2)": "cancelled",
        "queued (1)": "failure",
        "queued (2)": "cancelled",
        "queued (3)": "cancelled",
        "nofailfast (1)": "success",
        "nofailfast (2)": "failure",
    }
    assert out.jobs()["queued (2)"]["steps"] == []


def test_max_parallel_runs_legs_one_at_a_time(repo: Repo, tmp_path: Path) -> None:
    log = tmp_path / "order"
    repo.write(
        workflow("""
        on: push
        jobs:
          t:
            runs-on: ubuntu-latest
            strategy:
              max-parallel: 1
              matrix: {n: [1, 2, 3]}
            steps:
              - run: |
                  echo "start ${{ matrix.n }}" >> "$LOG"; sleep 0.2
                  echo "end ${{ matrix.n }}" >> "$LOG"
    """)
    ).commit()
    out = repo.run("--env", f"LOG={log}")
    assert out.code == 0, out.stderr
    lines = log.read_text().split("\n")[:-1]
    assert [line.split()[0] for line in lines] == ["start", "end"] * 3


def test_concurrency_newer_pending_replaces_older_and_cancel_in_progress(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          queue:
            runs-on: ubuntu-latest
            strategy:
              matrix: {n: [1, 2, 3]}
            concurrency: deploy
            steps: [{run: sleep 0.3}]
          preempt:
            runs-on: ubuntu-latest
            strategy:
              matrix: {n: [1, 2]}
            concurrency:
              group: other-${{ github.ref }}
              cancel-in-progress: ${{ matrix.n == 2 }}
            steps:
              - run: if [ ${{ matrix.n }} = 1 ]; then sleep 30; fi
    """)
    ).commit()
    out = repo.run()
    results = {n: j["result"] for n, j in out.jobs().items()}
    assert results == {
        "queue (1)": "success",
        "queue (2)": "cancelled",
        "queue (3)": "success",
        "preempt (1)": "cancelled",
        "preempt (2)": "success",
    }
    assert out.jobs()["queue (2)"]["steps"] == []
