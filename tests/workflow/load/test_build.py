"""Validated workflows become the model GitHub's parser would build."""

from __future__ import annotations

import textwrap

import pytest

from conveyor.workflow.model import Container, Workflow
from conveyor.workflow.schema.build_workflow import build_workflow
from conveyor.workflow.schema.nodes import Map
from conveyor.workflow.schema.validate import check_workflow


def build(text: str) -> Workflow:
    checked = check_workflow(textwrap.dedent(text), "ci.yml")
    assert checked.problems == (), [str(p) for p in checked.problems]
    assert isinstance(checked.root, Map)
    return build_workflow(checked.root, "ci.yml")


STEPS = "jobs:\n  j:\n    runs-on: x\n    steps: [{run: a}]\n"


@pytest.mark.parametrize(
    ("on", "events"),
    [
        ("push", ["push"]),
        ("[push, pull_request]", ["push", "pull_request"]),
        ("{push: {branches: [main]}, workflow_dispatch: }", ["push", "workflow_dispatch"]),
    ],
)
def test_on_forms(on: str, events: list[str]) -> None:
    assert list(build(f"on: {on}\n{STEPS}").on) == events


def test_push_filters_keep_order_and_negations() -> None:
    workflow = build(
        "on:\n  push:\n    branches: [main, 'rel/**', '!rel/old']\n    paths-ignore: [docs/**]\n"
        "  pull_request:\n    types: opened\n" + STEPS
    )
    push = workflow.on["push"]
    assert push.branches == ("main", "rel/**", "!rel/old")
    assert push.paths_ignore == ("docs/**",)
    assert push.tags is None
    assert workflow.on["pull_request"].types == ("opened",)


def test_schedule_and_dispatch_inputs() -> None:
    workflow = build(
        """\
        on:
          schedule:
            - cron: '0 3 * * *'
          workflow_dispatch:
            inputs:
              level:
                type: choice
                options: [low, high]
                default: low
              dry:
                type: boolean
                required: true
              count:
                type: number
                default: 3
              note: {description: free text}
        jobs:
          j: {runs-on: x, steps: [{run: a}]}
        """
    )
    assert workflow.on["schedule"].crons == ("0 3 * * *",)
    inputs = workflow.on["workflow_dispatch"].inputs
    assert inputs["level"].options == ("low", "high")
    assert (inputs["dry"].type, inputs["dry"].required) == ("boolean", True)
    assert inputs["count"].default == 3
    assert inputs["note"].type == "string"


def test_workflow_call_interface() -> None:
    workflow = build(
        """\
        on:
          workflow_call:
            inputs:
              tag: {type: string, required: true}
            outputs:
              image:
                description: the image
                value: ${{ jobs.j.outputs.image }}
            secrets:
              token: {required: true}
        jobs:
          j: {runs-on: x, outputs: {image: "${{ steps.a.outputs.i }}"}, steps: [{id: a, run: b}]}
        """
    )
    call = workflow.call_trigger
    assert call is not None
    assert call.inputs["tag"].required
    assert call.outputs["image"].value == "${{ jobs.j.outputs.image }}"
    assert call.secrets["token"].required
    assert workflow.jobs[0].outputs == {"image": "${{ steps.a.outputs.i }}"}


def test_job_fields_and_short_forms() -> None:
    workflow = build(
        """\
        on: push
        env: {A: 1}
        defaults: {run: {shell: bash, working-directory: src}}
        concurrency: ci-${{ github.ref }}
        jobs:
          a:
            runs-on: [self-hosted, linux]
            container: node:20
            services:
              db: postgres:16
              cache: {image: redis, ports: [6379], env: {X: y}}
            environment: prod
            concurrency: {group: g, cancel-in-progress: true}
            strategy: {matrix: {n: [1, 2]}, fail-fast: false, max-parallel: 1}
            timeout-minutes: 5
            continue-on-error: ${{ matrix.n == 2 }}
            steps: [{run: a}]
          b:
            needs: a
            uses: ./.github/workflows/r.yml
            with: {x: 1}
            secrets: inherit
          c:
            needs: [a, b]
            uses: ./.github/workflows/r.yml
            secrets: {token: "${{ secrets.T }}"}
        """
    )
    assert workflow.env == {"A": 1}
    assert workflow.defaults.shell == "bash"
    assert workflow.defaults.working_directory == "src"
    assert workflow.concurrency is not None
    assert workflow.concurrency.group == "ci-${{ github.ref }}"
    a, b, c = workflow.jobs
    assert a.runs_on == ["self-hosted", "linux"]
    assert a.container is not None
    assert a.container.image == "node:20"
    assert a.services["db"].image == "postgres:16"
    assert isinstance(a.services["cache"], Container)
    assert a.services["cache"].ports == (6379,)
    assert a.environment is not None
    assert a.environment.name == "prod"
    assert a.concurrency is not None
    assert a.concurrency.cancel_in_progress is True
    assert a.strategy is not None
    assert (a.strategy.matrix, a.strategy.fail_fast) == ({"n": [1, 2]}, False)
    assert a.timeout_minutes == 5
    assert a.continue_on_error == "${{ matrix.n == 2 }}"
    assert (b.needs, b.secrets, b.with_) == (("a",), "inherit", {"x": 1})
    assert b.is_reusable_call
    assert c.needs == ("a", "b")
    assert c.secrets == {"token": "${{ secrets.T }}"}


def test_steps_get_github_ids_and_fields() -> None:
    workflow = build(
        """\
        on: push
        jobs:
          j:
            runs-on: x
            steps:
              - run: echo 1
              - uses: actions/checkout@v4
              - id: __run_2x
                run: echo 2
              - uses: ./local
              - uses: docker://alpine:3
              - name: named
                run: echo 3
                shell: bash
                working-directory: sub
                if: github.ref == 'refs/heads/main'
                env: {K: v}
                continue-on-error: true
                timeout-minutes: 2
              - id: mine
                uses: actions/checkout@v4
                with: {fetch-depth: 0}
        """.replace("__run_2x", "explicit")
    )
    steps = workflow.jobs[0].steps
    assert [s.id for s in steps] == [
        "__run",
        "__actions_checkout",
        "explicit",
        "__self",
        "__alpine_3",
        "__run_2",
        "mine",
    ]
    named = steps[5]
    assert (named.shell, named.working_directory, named.if_) == (
        "bash",
        "sub",
        "github.ref == 'refs/heads/main'",
    )
    assert (named.env, named.continue_on_error, named.timeout_minutes) == ({"K": "v"}, True, 2)
    assert steps[6].explicit_id
    assert steps[6].with_ == {"fetch-depth": 0}
    assert [s.index for s in steps] == list(range(7))
    assert steps[0].loc is not None
    assert (steps[0].loc.line, steps[0].loc.col) == (6, 9)


def test_yaml_1_2_scalars() -> None:
    workflow = build("on: push\nenv: {A: yes, B: 0o17, C: 12_345, D: ~, E: '1', F: 1.50}\n" + STEPS)
    assert workflow.env == {"A": "yes", "B": 15, "C": "12_345", "D": None, "E": "1", "F": 1.5}


def test_an_empty_container_string_means_no_container() -> None:
    """GitHub's ConvertToJobContainer returns null for `container: ''` (found by the oracle)."""
    workflow = build(
        "on: push\njobs:\n  j:\n    runs-on: x\n    container: ''\n    steps: [{run: a}]\n"
    )
    assert workflow.jobs[0].container is None
