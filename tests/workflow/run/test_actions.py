"""Local composite actions and local reusable workflows."""

from __future__ import annotations

from tests.workflow.run.conftest import Repo, workflow

COMPOSITE = """
name: outer
inputs:
  who: {description: who, default: "${{ github.event_name }}-default"}
  must: {description: required one, required: true}
outputs:
  greeting:
    description: declared
    value: ${{ steps.inner.outputs.text }}
runs:
  using: composite
  steps:
    - id: inner
      shell: bash
      run: |
        echo "text=hi ${{ inputs.who }} $INPUT_MUST" >> "$GITHUB_OUTPUT"
        echo "undeclared=leak" >> "$GITHUB_OUTPUT"
        test -f "$GITHUB_ACTION_PATH/action.yml"
    - id: skipped
      if: inputs.who == 'nobody'
      shell: bash
      run: exit 1
    - uses: ./.github/actions/nested
      id: nested
    - shell: bash
      run: test "${{ steps.nested.outputs.deep }}" = deep-value
"""

NESTED = """
name: nested
outputs:
  deep: {description: d, value: "${{ steps.d.outputs.v }}"}
runs:
  using: composite
  steps:
    - id: d
      shell: sh
      run: echo "v=deep-value" >> "$GITHUB_OUTPUT"
"""


def test_composite_inputs_outputs_nesting_and_no_leaks(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - id: c
                uses: ./.github/actions/outer
                with: {must: yes}
              - id: named
                uses: ./.github/actions/outer
                with: {must: yes, who: me}
              - run: |
                  test "${{ steps.c.outputs.greeting }}" = "hi push-default yes"
                  test "${{ steps.named.outputs.greeting }}" = "hi me yes"
                  test -z "${{ steps.c.outputs.undeclared }}"
              - id: missing
                continue-on-error: true
                uses: ./.github/actions/outer
    """)
    )
    repo.write({".github/actions/outer/action.yml": COMPOSITE}).write(
        {".github/actions/nested/action.yml": NESTED}
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
    steps = out.steps("j")
    assert steps["c"]["outcome"] == "success"
    # GitHub does not enforce `required` on composite inputs: the value is empty
    assert (steps["missing"]["outcome"], steps["missing"]["conclusion"]) == ("success", "success")


CALLEE = """
name: Callee
on:
  workflow_call:
    inputs:
      flag: {type: boolean, required: true}
      count: {type: number, default: 2}
    secrets:
      explicit: {required: false}
    outputs:
      result:
        value: ${{ jobs.inner.outputs.out }}
jobs:
  inner:
    runs-on: ubuntu-latest
    outputs:
      out: ${{ steps.s.outputs.v }}
    steps:
      - id: s
        run: |
          test -z "$CALLER_ENV"
          e="${{ secrets.explicit != '' }}-${{ secrets.OTHER != '' }}"
          echo "v=${{ inputs.flag == true }}-${{ inputs.count }}-$e-${{ github.event_name }}" \\
            >> "$GITHUB_OUTPUT"
"""


def test_reusable_workflow_inputs_secrets_outputs_and_matrix_of_callers(repo: Repo) -> None:
    repo.write(
        workflow("""
        name: Caller
        on: push
        env: {CALLER_ENV: should-not-pass}
        jobs:
          explicit:
            uses: ./.github/workflows/callee.yml
            with: {flag: true}
            secrets: {explicit: "${{ secrets.ONE }}"}
          inherit:
            strategy:
              matrix: {n: [3, 4]}
            uses: ./.github/workflows/callee.yml
            with: {flag: false, count: "${{ matrix.n }}"}
            secrets: inherit
          after:
            needs: explicit
            runs-on: ubuntu-latest
            steps:
              - run: test "${{ needs.explicit.outputs.result }}" = "true-2-true-false-push"
    """)
    )
    repo.write({".github/workflows/callee.yml": CALLEE}).commit()
    out = repo.run("--secret", "ONE=x1", "--secret", "OTHER=o2")
    assert out.code == 0, out.stderr
    jobs = out.jobs()
    assert jobs["explicit"]["outputs"] == {"result": "true-2-true-false-push"}
    assert jobs["explicit / inner"]["parent"] == "explicit"
    assert jobs["inherit (3)"]["outputs"] == {"result": "false-3-false-true-push"}
    assert jobs["inherit (4) / inner"]["result"] == "success"
    assert out.result("after") == "success"


def test_reusable_workflow_failure_fails_the_caller_and_nesting_works(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          top:
            uses: ./.github/workflows/middle.yml
    """)
    )
    repo.write(
        {
            ".github/workflows/middle.yml": """
            on: workflow_call
            jobs:
              mid:
                uses: ./.github/workflows/leaf.yml
        """,
            ".github/workflows/leaf.yml": """
            on: workflow_call
            jobs:
              leaf:
                runs-on: ubuntu-latest
                steps: [{run: exit 1}]
        """,
        }
    ).commit()
    out = repo.run()
    assert out.code == 1
    results = {n: j["result"] for n, j in out.jobs().items()}
    assert results["top / mid / leaf"] == "failure"
    assert results["top / mid"] == "failure"
    assert results["top"] == "failure"


def test_local_node_action_gets_inputs_and_writes_outputs(repo: Repo) -> None:
    repo.write(
        workflow("""
        on: push
        jobs:
          j:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - id: n
                uses: ./.github/actions/js
                with: {name: world}
              - run: test "${{ steps.n.outputs.greeting }}" = "hello world from default"
    """)
    )
    repo.write(
        {
            ".github/actions/js/action.yml": """
            name: js
            description: a node action
            inputs:
              name: {description: n, required: true}
              extra: {description: e, default: from default}
            outputs:
              greeting: {description: g}
            runs: {using: node20, main: index.js}
        """,
            ".github/actions/js/index.js": """
            const fs = require("fs");
            const text = `hello ${process.env.INPUT_NAME} ${process.env.INPUT_EXTRA}`;
            fs.appendFileSync(process.env.GITHUB_OUTPUT, `greeting=${text}\\n`);
        """,
        }
    ).commit()
    out = repo.run()
    assert out.code == 0, out.stderr
