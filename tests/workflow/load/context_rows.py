"""One row per definition of GitHub's workflow schema that carries a `context` list: a
workflow with `{E}` where an expression goes, an expression using a context only that place
allows, and a context it does not allow. Shared by the lint test (`test_schema_contexts`)
and the run-time corpus (`tests/fixtures/workflows/schema-contexts`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    definition: str
    text: str
    allowed: str
    forbidden: str

    def workflow(self, expression: str) -> str:
        return self.text.replace("{E}", "${{ " + expression + " }}")

    def where(self) -> tuple[int, int]:
        """Line and column of the scalar holding the expression (where GitHub reports)."""
        before = self.text[: self.text.index("{E}")]
        line_start = before.rfind("\n") + 1
        return before.count("\n") + 1, before.rfind(": ") + 3 - line_start


JOB = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
STEP = "    steps:\n      - run: echo\n"
CALLEE = "on:\n  workflow_call:\n"


def _job(extra: str, steps: str = STEP) -> str:
    return JOB + extra + steps


ROWS = (
    Row(
        definition="run-name",
        text='run-name: "x-{E}"\non: push\njobs:\n  a: {runs-on: x, steps: [{run: a}]}\n',
        allowed="inputs.who || github.actor",
        forbidden="env",
    ),
    Row(
        definition="workflow-call-input-default",
        text=CALLEE + '    inputs:\n      i: {type: string, default: "{E}"}\n'
        "jobs:\n  a: {runs-on: x, steps: [{run: a}]}\n",
        allowed="vars.V || github.event_name",
        forbidden="needs",
    ),
    Row(
        definition="workflow-output-context",
        text=CALLEE + '    outputs:\n      o: {value: "{E}"}\n'
        "jobs:\n  a: {runs-on: x, steps: [{run: a}]}\n",
        allowed="jobs.a.outputs.o",
        forbidden="steps",
    ),
    Row(
        definition="workflow-env",
        text='on: push\nenv:\n  W: "{E}"\njobs:\n  a: {runs-on: x, steps: [{run: a}]}\n',
        allowed="secrets.S || github.event_name",
        forbidden="matrix",
    ),
    Row(definition="job-if", text=_job('    if: "{E}"\n'), allowed="always()", forbidden="env"),
    Row(
        definition="strategy",
        text=_job('    strategy:\n      fail-fast: "{E}"\n      matrix: {n: [1]}\n'),
        allowed="needs.x.outputs.ff == 'true'",
        forbidden="matrix",
    ),
    Row(
        definition="snapshot-if",
        text=_job('    snapshot:\n      image-name: img\n      if: "{E}"\n'),
        allowed="matrix.n == 1",
        forbidden="env",
    ),
    Row(
        definition="runs-on",
        text=JOB.replace("ubuntu-latest", '"{E}"') + "    strategy: {matrix: {os: [x]}}\n" + STEP,
        allowed="matrix.os",
        forbidden="env",
    ),
    Row(
        definition="job-env",
        text=_job('    env:\n      J: "{E}"\n'),
        allowed="strategy.job-index",
        forbidden="steps",
    ),
    Row(
        definition="workflow-concurrency",
        text='on: push\nconcurrency: "{E}"\njobs:\n  a: {runs-on: x, steps: [{run: a}]}\n',
        allowed="github.workflow",
        forbidden="needs",
    ),
    Row(
        definition="job-concurrency",
        text=_job('    concurrency: "{E}"\n'),
        allowed="matrix.n",
        forbidden="env",
    ),
    Row(
        definition="job-environment",
        text=_job('    environment: "{E}"\n'),
        allowed="needs.x.outputs.env",
        forbidden="env",
    ),
    Row(
        definition="job-environment-name",
        text=_job('    environment:\n      name: "{E}"\n'),
        allowed="matrix.env",
        forbidden="steps",
    ),
    Row(
        definition="string-runner-context-no-secrets",
        text=_job('    environment:\n      name: e\n      url: "{E}"\n'),
        allowed="steps.s.outputs.url",
        forbidden="secrets",
    ),
    Row(
        definition="job-defaults-run",
        text=_job('    defaults:\n      run:\n        shell: "{E}"\n'),
        allowed="env.MY_SHELL",
        forbidden="secrets",
    ),
    Row(
        definition="step-continue-on-error",
        text=JOB + '    steps:\n      - run: echo\n        continue-on-error: "{E}"\n',
        allowed="hashFiles('x') == ''",
        forbidden="jobs",
    ),
    Row(
        definition="step-if",
        text=JOB + '    steps:\n      - run: echo\n        if: "{E}"\n',
        allowed="env.GO == 'yes'",
        forbidden="secrets",
    ),
    Row(
        definition="step-env",
        text=JOB + '    steps:\n      - run: echo\n        env:\n          S: "{E}"\n',
        allowed="steps.s.outputs.v",
        forbidden="jobs",
    ),
    Row(
        definition="step-name",
        text=JOB + '    steps:\n      - run: echo\n        name: "{E}"\n',
        allowed="runner.os",
        forbidden="jobs",
    ),
    Row(
        definition="step-timeout-minutes",
        text=JOB + '    steps:\n      - run: echo\n        timeout-minutes: "{E}"\n',
        allowed="fromJSON(env.T)",
        forbidden="jobs",
    ),
    Row(
        definition="step-with",
        text=JOB + '    steps:\n      - uses: ./a\n        with:\n          w: "{E}"\n',
        allowed="job.status",
        forbidden="jobs",
    ),
    Row(
        definition="container",
        text=_job('    container: "{E}"\n'),
        allowed="matrix.image",
        forbidden="env",
    ),
    Row(
        definition="services",
        text=_job('    services:\n      db:\n        image: "{E}"\n'),
        allowed="needs.x.outputs.image",
        forbidden="env",
    ),
    Row(
        definition="services-container",
        text=_job('    services:\n      db: "{E}"\n'),
        allowed="matrix.db",
        forbidden="secrets",
    ),
    Row(
        definition="container-registry-credentials",
        text=_job('    container:\n      image: x\n      credentials:\n        password: "{E}"\n'),
        allowed="secrets.P",
        forbidden="steps",
    ),
    Row(
        definition="scalar-needs-context",
        text="on: push\njobs:\n  c:\n    uses: ./.github/workflows/callee.yml\n"
        '    with:\n      i: "{E}"\n',
        allowed="needs.x.outputs.v",
        forbidden="secrets",
    ),
    Row(
        definition="scalar-needs-context-with-secrets",
        text="on: push\njobs:\n  c:\n    uses: ./.github/workflows/callee.yml\n"
        '    secrets:\n      s: "{E}"\n',
        allowed="secrets.S",
        forbidden="env",
    ),
    Row(
        definition="string-strategy-context",
        text=_job('    name: "build {E}"\n'),
        allowed="matrix.n",
        forbidden="env",
    ),
    Row(
        definition="number-strategy-context",
        text=_job('    timeout-minutes: "{E}"\n'),
        allowed="strategy.job-total",
        forbidden="env",
    ),
    Row(
        definition="boolean-strategy-context",
        text=_job('    continue-on-error: "{E}"\n'),
        allowed="matrix.experimental",
        forbidden="env",
    ),
    Row(
        definition="string-runner-context",
        text=_job('    outputs:\n      o: "{E}"\n'),
        allowed="steps.s.outputs.v",
        forbidden="jobs",
    ),
    Row(
        definition="string-steps-context",
        text=JOB + '    steps:\n      - run: "echo {E}"\n',
        allowed="hashFiles('x')",
        forbidden="jobs",
    ),
)

#: context-bearing definitions no workflow can reach from `workflow-root-strict` (so no
#: workflow can put an expression there); the walker checks they stay unreachable
UNREACHABLE = frozenset(
    {
        "job-if-result",
        "step-if-result",
        "boolean-needs-context",
        "number-needs-context",
        "string-needs-context",
        "boolean-steps-context",
        "number-steps-context",
    }
)

#: where `tests/fixtures/workflows/schema-contexts` evaluates and checks each row at run time
#: (a snippet of its workflows), or why a host runner cannot
RUNTIME = {
    "run-name": "run-name: run-${{ github.event_name }}",
    "workflow-call-input-default": 'default: "${{ github.event_name }}-default"',
    "workflow-output-context": "${{ jobs.inner.outputs.o }}",
    "workflow-env": "WF: ${{ github.event_name }}-wf",
    "job-if": "if: ${{ needs.src.outputs.v == 'from-needs' }}",
    "strategy": "fail-fast: ${{ needs.src.outputs.ff == 'true' }}",
    "runs-on": "runs-on: ${{ matrix.os }}",
    "job-env": "JOB: ${{ strategy.job-index }}-${{ matrix.os }}",
    "workflow-concurrency": "concurrency: ${{ github.workflow }}-group",
    "job-concurrency": "group: ${{ matrix.os }}-job",
    "job-environment": "environment:",
    "job-environment-name": "name: ${{ needs.src.outputs.v }}-env",
    "string-runner-context-no-secrets": "url: ${{ steps.url.outputs.url }}",
    "job-defaults-run": "shell: ${{ env.MY_SHELL }}",
    "step-continue-on-error": "continue-on-error: ${{ env.WF == 'push-wf' }}",
    "step-if": "if: ${{ env.JOB == 'nope' }}",
    "step-env": "STEP: ${{ needs.src.outputs.v }}",
    "step-name": "name: named ${{ runner.os }}",
    "step-timeout-minutes": "timeout-minutes: ${{ fromJSON('1') }}",
    "step-with": "w: ${{ job.status == 'success' && 'ok' || 'bad' }}",
    "scalar-needs-context": "from-caller: ${{ needs.src.outputs.v }}",
    "scalar-needs-context-with-secrets": "s: ${{ secrets.S }}",
    "string-strategy-context": "name: job-level ${{ matrix.os }} ${{ strategy.job-total }}",
    "number-strategy-context": (
        "timeout-minutes: ${{ fromJSON(format('{0}0', strategy.job-total)) }}"
    ),
    "boolean-strategy-context": "continue-on-error: ${{ matrix.os != 'ubuntu-latest' }}",
    "string-runner-context": "o: ${{ steps.url.outputs.url }}",
    "string-steps-context": 'run: test "${{ steps.url.outputs.url }}"',
}
NOT_ON_HOST = {
    "container": "a job container needs podman (tests/workflow/containers)",
    "services": "service containers need podman (tests/workflow/containers)",
    "services-container": "service containers need podman (tests/workflow/containers)",
    "container-registry-credentials": "registry logins need podman (tests/workflow/containers)",
    "snapshot-if": "Conveyor builds no custom runner images; `snapshot` is not run",
}
