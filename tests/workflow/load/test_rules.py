"""One table row per rule `conveyor lint` enforces: the problem, its position and rule slug."""

from __future__ import annotations

import pytest

from conveyor.workflow.schema.cron import is_valid_cron
from tests.workflow.load.helpers import JOB, problems

RULES = [
    pytest.param(
        JOB.replace("    steps:", "    unknown-key: 1\n    steps:"),
        (5, 5, "unknown-key", "Unexpected value 'unknown-key'"),
        id="unknown job key",
    ),
    pytest.param(
        "colour: red\n" + JOB,
        (1, 1, "unknown-key", "Unexpected value 'colour'"),
        id="unknown workflow key",
    ),
    pytest.param(
        JOB.replace("    steps:", "    timeout-minutes: soon\n    steps:"),
        (5, 22, "value", "Unexpected value 'soon'"),
        id="wrong scalar type",
    ),
    pytest.param(
        JOB.replace("    steps:", "    env: [a, b]\n    steps:"),
        (5, 10, "type", "A sequence was not expected"),
        id="sequence where a mapping belongs",
    ),
    pytest.param(
        "on: push\njobs:\n  build:\n    steps:\n      - run: echo hi\n",
        (4, 5, "required", "Required property is missing: runs-on"),
        id="missing runs-on",
    ),
    pytest.param(
        JOB + "        uses: actions/checkout@v4\n",
        (7, 9, "unknown-key", "Unexpected value 'uses'"),
        id="run and uses together",
    ),
    pytest.param(
        JOB + "        outputs:\n          x: y\n",
        (7, 9, "step-outputs", "Unexpected value 'outputs'"),
        id="step-level outputs",
    ),
    pytest.param(
        JOB.replace("    runs-on", "    needs: nope\n    runs-on") + "  other: {uses: ./x.yml}\n",
        (4, 12, "needs-unknown", "Job 'build' depends on unknown job 'nope'."),
        id="unknown needs",
    ),
    pytest.param(
        JOB.replace("  build:", "  my.job:"),
        (3, 3, "job-id", "The identifier 'my.job' is invalid."),
        id="invalid job id",
    ),
    pytest.param(
        JOB + "      - id: a\n        run: x\n      - id: A\n        run: y\n",
        (9, 13, "step-id", "The identifier 'A' may not be used more than once"),
        id="duplicate step id",
    ),
    pytest.param(
        JOB + "      - id: __mine\n        run: x\n",
        (7, 13, "step-id", "IDs starting with '__' are reserved."),
        id="reserved step id",
    ),
    pytest.param(
        JOB.replace("on: push", "on:\n  push:\n    branches: [main]\n    branches-ignore: [x]"),
        (4, 5, "filters", "may define only one of 'branches' and 'branches-ignore'"),
        id="branches with branches-ignore",
    ),
    pytest.param(
        JOB.replace("on: push", "on:\n  push:\n    tags-ignore: [x]\n    tags: [v*]"),
        (4, 5, "filters", "may define only one of 'tags' and 'tags-ignore'"),
        id="tags with tags-ignore",
    ),
    pytest.param(
        JOB.replace("on: push", "on:\n  pull_request:\n    paths: [a]\n    paths-ignore: [b]"),
        (4, 5, "filters", "may define only one of 'paths' and 'paths-ignore'"),
        id="paths with paths-ignore",
    ),
    pytest.param(
        JOB.replace("on: push", "on:\n  schedule:\n    - cron: '61 * * * *'"),
        (3, 13, "cron", "Invalid cron expression."),
        id="bad cron",
    ),
    pytest.param(
        JOB.replace("echo hi", "echo ${{ github.sha"),
        (6, 14, "expression", "The expression is not closed."),
        id="unclosed expression",
    ),
    pytest.param(
        JOB.replace("echo hi", "echo ${{ 1 == }}"),
        (6, 14, "expression", "Unexpected end of expression"),
        id="expression syntax error",
    ),
    pytest.param(
        JOB.replace("    runs-on", "    if: ${{ secrets.token }}\n    runs-on"),
        (4, 9, "expression-context", "Unrecognized named-value: 'secrets'. Located at position 1"),
        id="context not allowed at job if",
    ),
    pytest.param(
        JOB.replace("    runs-on: ubuntu-latest", "    runs-on: ${{ steps.x.outputs.os }}"),
        (4, 14, "expression-context", "Unrecognized named-value: 'steps'"),
        id="steps context not allowed in runs-on",
    ),
    pytest.param(
        JOB.replace("    runs-on", "    if: hashFiles('x') != ''\n    runs-on"),
        (4, 9, "expression-context", "Unrecognized function: 'hashFiles'"),
        id="function not allowed at job if",
    ),
    pytest.param(
        JOB.replace("    runs-on", "    name: ${{ x }}\n    runs-on").replace("name", "name"),
        (4, 11, "expression-context", "Unrecognized named-value: 'x'"),
        id="unknown context",
    ),
    pytest.param(
        "on: push\njobs:\n  a:\n    needs: b\n    runs-on: x\n    steps: [{run: hi}]\n"
        "  b:\n    needs: a\n    runs-on: x\n    steps: [{run: hi}]\n",
        (3, 3, "needs", "The workflow must contain at least one job with no dependencies."),
        id="no job without needs",
    ),
    pytest.param(
        JOB.replace("    runs-on: ubuntu-latest", "    runs-on: a\n    runs-on: b"),
        (5, 5, "duplicate-key", "'runs-on' is already defined"),
        id="duplicate key",
    ),
    pytest.param(
        JOB.replace("echo hi", "*x"),
        (6, 14, "yaml", "Invalid YAML: found undefined alias 'x'"),
        id="undefined alias",
    ),
    pytest.param(
        JOB.replace("echo hi", "[unclosed"),
        (7, 1, "yaml", "Invalid YAML"),
        id="yaml syntax error",
    ),
    pytest.param(
        JOB.replace("ubuntu-latest", "!!int nope"),
        (4, 14, "yaml-tag", "The value 'nope' on line 4 and column 14 is invalid"),
        id="bad explicit tag",
    ),
    pytest.param(
        JOB.replace("    steps:", "    strategy:\n      matrix:\n        os: []\n    steps:"),
        (7, 13, "matrix", "Matrix vector 'os' does not contain any values"),
        id="empty matrix vector",
    ),
    pytest.param(
        JOB.replace("    steps:", "    container:\n      options: --x\n    steps:"),
        (6, 7, "container", "Container image cannot be empty"),
        id="container without image",
    ),
    pytest.param(
        "on:\n  workflow_dispatch:\n    inputs:\n      x:\n        type: choice\n" + JOB[9:],
        (5, 9, "inputs", "Missing 'options' for choice input"),
        id="choice input without options",
    ),
    pytest.param(
        "on:\n  workflow_dispatch:\n    inputs:\n      x:\n        type: choice\n"
        "        options: []\n" + JOB[9:],
        (5, 9, "inputs", "Missing 'options' for choice input"),
        id="choice input with an empty options list",
    ),
    pytest.param(
        "on:\n  workflow_dispatch:\n    inputs:\n      x:\n        type: boolean\n"
        "        default: 'true'\n" + JOB[9:],
        (
            6,
            18,
            "inputs",
            "Unexpected type 'StringToken' encountered while reading 'input default'. "
            "The type 'BooleanToken' was expected.",
        ),
        id="boolean input with a string default",
    ),
    pytest.param(
        "on:\n  workflow_dispatch:\n    inputs:\n      x:\n        type: choice\n"
        "        options: [1, 2]\n        default: 1\n" + JOB[9:],
        (
            7,
            18,
            "inputs",
            "Unexpected type 'NumberToken' encountered while reading 'input default'. "
            "The type 'StringToken' was expected.",
        ),
        id="choice input with a number default",
    ),
    pytest.param(
        "on:\n  workflow_dispatch:\n    inputs:\n      x:\n        type: date\n" + JOB[9:],
        (5, 15, "value", "Unexpected value 'date'"),
        id="unknown input type",
    ),
    pytest.param(
        JOB.replace("on: push", "on:\n  push:\n    branches: ['${{ 1 }}']"),
        (3, 16, "expression-context", "A template expression is not allowed in this context"),
        id="expression where no context is allowed",
    ),
    pytest.param(
        JOB.replace("on: push", "on:\n  schedule:\n    - cron: 5"),
        (3, 13, "cron", "Invalid cron expression."),
        id="cron that is a number",
    ),
    pytest.param(
        JOB.replace("echo hi", "echo ${{ hashFiles() }}"),
        (6, 14, "expression-context", "Too few parameters supplied"),
        id="too few arguments",
    ),
    pytest.param(
        JOB.replace("run: echo hi", "uses: actions/checkout"),
        (6, 15, "uses", "Expected format {org}/{repo}[/path]@ref. Actual 'actions/checkout'"),
        id="uses without a ref",
    ),
    pytest.param(
        JOB.replace("      - run: echo hi", "      - name: later\n        later: soon"),
        (6, 9, "step-kind", "Expected one of uses or run to be defined"),
        id="step with neither run nor uses, named on its first line",
    ),
    pytest.param(
        JOB.replace("on: push", "on: pushed"),
        (1, 5, "value", "Unexpected value 'pushed'"),
        id="unknown event",
    ),
]


@pytest.mark.parametrize(("text", "expected"), RULES)
def test_rule(text: str, expected: tuple[int, int, str, str]) -> None:
    line, col, rule, message = expected
    found = problems(text)
    matching = [p for p in found if p[:3] == (line, col, rule) and message in p[3]]
    assert matching, found


def test_a_clean_workflow_has_no_problems() -> None:
    assert problems(JOB) == []


@pytest.mark.parametrize(
    "text",
    [
        JOB.replace("ubuntu-latest", "${{ 'ubuntu-latest' }}"),
        JOB.replace("    runs-on", "    if: success() && github.ref == 'x'\n    runs-on"),
        JOB.replace("echo hi", "echo ${{ hashFiles('**/x') }} ${{ steps.a.outputs.b }}"),
        JOB.replace("on: push", "on:\n  schedule:\n    - cron: '*/5 * * * *'"),
        JOB.replace("on: push", "on: {push: {branches: [main], paths-ignore: [docs]}}"),
    ],
    ids=["literal expression", "job if", "step contexts", "cron", "two filters"],
)
def test_valid_variants_have_no_problems(text: str) -> None:
    assert problems(text) == []


CRONS = [
    ("*/15 * * * *", True),
    ("0 12 * jan-mar mon-fri", True),
    ("0,30 9-17/2 1 * SUN", True),
    ("5 4 * * sun", True),
    ("* * * *", False),
    ("* * * * * *", False),
    ("60 * * * *", False),
    ("0 24 * * *", False),
    ("0 0 0 * *", False),
    ("0 0 * 13 *", False),
    ("0 0 * * 7", False),
    ("*/0 * * * *", False),
    ("5-1 * * * *", False),
    ("1,,2 * * * *", False),
    ("@daily", False),
    ("x * * * *", False),
    (" * * * * *", False),
]


@pytest.mark.parametrize(("cron", "valid"), CRONS)
def test_cron(cron: str, valid: bool) -> None:
    assert is_valid_cron(cron) is valid


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = """\
        on:
          push:
            branches: [main]
            branches-ignore: [dev]
        jobs:
          a:
            needs: [ghost]
            runs-on: x
            bogus: 1
            steps:
              - run: echo
                uses: actions/checkout@v4
              - run: echo ${{ secrets.x }}
                outputs: {a: b}
          b:
            runs-on: x
            steps: [{run: ok}]
        """
    rules = sorted(p[2] for p in problems(text))
    assert rules == ["filters", "needs-unknown", "step-outputs", "unknown-key", "unknown-key"]


def test_a_null_container_image_is_reported_once_where_it_is() -> None:
    """The schema names the null image; no second 'image cannot be empty' at `container:`."""
    text = JOB.replace("    steps:", "    container:\n      image: ~\n    steps:")
    assert problems(text) == [(6, 14, "value", "Unexpected value ''")]
