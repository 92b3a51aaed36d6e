"""`${{ insert }}` and expression keys, accepted and rejected exactly as GitHub's
@actions/workflow-parser 0.3.61 does (each message checked against it), plus the places
where Conveyor reports an expression key it would not evaluate."""

from __future__ import annotations

import pytest

from tests.workflow.load.helpers import problems

HEAD = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
STEPS = "    steps:\n      - run: echo\n"
EMBEDDED = (
    "The directive 'insert' is not allowed in this context. Directives are not supported "
    "for expressions that are embedded within a string. Directives are only supported when "
    "the entire value is an expression."
)
PARAMETERS = (
    "Exactly 0 parameter(s) were expected following the directive 'insert'. "
    "Actual parameter count: 1"
)

ACCEPTED = [
    pytest.param(
        "on: push\nenv:\n  A: 1\n  ${{ insert }}: ${{ fromJSON(vars.MORE) }}\n"
        "jobs:\n  a: {runs-on: x, steps: [{run: a}]}\n",
        id="insert in workflow env",
    ),
    pytest.param(
        HEAD + "    env:\n      ${{ insert }}: ${{ fromJSON(needs.x.outputs.env) }}\n" + STEPS,
        id="insert in job env from needs",
    ),
    pytest.param(
        HEAD + "    steps:\n      - uses: ./a\n        with:\n"
        "          ${{ insert }}: ${{ fromJSON(steps.s.outputs.with) }}\n",
        id="insert in step with",
    ),
    pytest.param(
        HEAD + "    env:\n      ${{ insert }}: ${{ fromJSON('{}') }}\n"
        "      ${{ insert  }}: ${{ fromJSON('{}') }}\n" + STEPS,
        id="two inserts in one mapping",
    ),
    pytest.param(
        HEAD + "    strategy:\n      matrix:\n        ${{ needs.x.outputs.key }}: [1, 2]\n" + STEPS,
        id="matrix key from needs outputs",
    ),
    pytest.param(
        HEAD
        + "    strategy:\n      matrix:\n"
        + "        ${{ insert }}: ${{ fromJSON(needs.x.outputs.m) }}\n"
        + STEPS,
        id="insert in matrix",
    ),
    pytest.param(
        HEAD
        + "    steps:\n      - run: echo\n        env:\n"
        + "          ${{ format('K_{0}', env.X) }}: v\n",
        id="computed step env key",
    ),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_insert_and_expression_keys_are_accepted_where_github_accepts_them(text: str) -> None:
    assert problems(text) == []


REJECTED = [
    pytest.param(
        HEAD + "    env:\n      X: a ${{ insert }}\n" + STEPS,
        (6, 10, "directive", EMBEDDED),
        id="insert embedded in a string",
    ),
    pytest.param(
        HEAD + "    env:\n      X: ${{ insert }}\n" + STEPS,
        (6, 10, "directive", "Unexpected value '${{ insert }}'"),
        id="insert as a value",
    ),
    pytest.param(
        HEAD + "    env:\n      X: ${{ insert a b }}\n" + STEPS,
        (6, 10, "directive", PARAMETERS),
        id="insert with parameters as a value",
    ),
    pytest.param(
        HEAD + "    env:\n      ${{ insert x }}: ${{ fromJSON('{}') }}\n" + STEPS,
        (6, 7, "directive", PARAMETERS),
        id="insert with a parameter as a key",
    ),
    pytest.param(
        HEAD + "    env:\n      ${{ insert }}: {C: 3}\n" + STEPS,
        (6, 22, "type", "A mapping was not expected"),
        id="literal mapping inserted where values are strings",
    ),
    pytest.param(
        HEAD + "    outputs:\n      ${{ insert }}: ${{ fromJSON('{}') }}\n" + STEPS,
        (6, 7, "expression-context", "A template expression is not allowed in this context"),
        id="insert where the mapping has no context",
    ),
    pytest.param(
        HEAD + "    env:\n      W: ${{ if github.ref }}\n" + STEPS,
        (
            6,
            10,
            "expression-context",
            "Unrecognized named-value: 'if'. Located at position 1 within expression: "
            "if github.ref",
        ),
        id="if is not a workflow directive",
    ),
    pytest.param(
        HEAD + "    env:\n      ${{ each x in github.event.commits }}: v\n" + STEPS,
        (
            6,
            7,
            "expression-context",
            "Unrecognized named-value: 'each'. Located at position 1 within expression: "
            "each x in github.event.commits",
        ),
        id="each is not a workflow directive",
    ),
    pytest.param(
        HEAD + "    env:\n      ${{ else }}: v\n" + STEPS,
        (
            6,
            7,
            "expression-context",
            "Unrecognized named-value: 'else'. Located at position 1 within expression: else",
        ),
        id="else is not a workflow directive",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REJECTED)
def test_misused_directives_are_rejected_with_githubs_message(
    text: str, expected: tuple[int, int, str, str]
) -> None:
    assert problems(text) == [expected]


EVALUATED_WHOLE = [
    pytest.param(
        "    strategy:\n      ${{ insert }}: ${{ fromJSON(needs.x.outputs.s) }}\n", id="strategy"
    ),
    pytest.param("    strategy: ${{ fromJSON(needs.x.outputs.s) }}\n", id="strategy-expression"),
    pytest.param(
        "    container:\n      image: x\n      ${{ insert }}: ${{ fromJSON('{}') }}\n",
        id="container",
    ),
    pytest.param("    container:\n      ${{ matrix.key }}: x\n", id="container-no-image"),
    pytest.param(
        "    services:\n      db:\n        ${{ insert }}: ${{ fromJSON(vars.DB) }}\n", id="service"
    ),
    pytest.param(
        "    defaults:\n      run:\n        ${{ env.KEY }}: bash\n", id="defaults-run-env-key"
    ),
]


@pytest.mark.parametrize("job", EVALUATED_WHOLE)
def test_expression_keys_github_evaluates_in_fixed_property_mappings_are_accepted(
    job: str,
) -> None:
    assert problems(HEAD + job + STEPS) == []


STRING_KEYS = [
    pytest.param("    services:\n      ${{ matrix.db }}: postgres\n", "service key", id="services"),
    pytest.param(
        "    concurrency:\n      group: g\n      ${{ vars.K }}: true\n",
        "concurrency group key",
        id="concurrency",
    ),
    pytest.param(
        "    environment:\n      name: p\n      ${{ vars.K }}: x\n",
        "job environment key",
        id="environment",
    ),
]


@pytest.mark.parametrize(("block", "name"), STRING_KEYS)
def test_expression_keys_github_reads_as_strings_are_rejected_with_githubs_message(
    block: str, name: str
) -> None:
    found = problems(HEAD + block + STEPS)
    message = (
        f"Unexpected type 'BasicExpressionToken' encountered while reading '{name}'. "
        "The type 'StringToken' was expected."
    )
    assert [(rule, text) for _, _, rule, text in found] == [("type", message)]


def test_an_expression_key_in_a_runs_on_mapping_is_rejected_with_githubs_message() -> None:
    text = HEAD.replace(
        "runs-on: ubuntu-latest", "runs-on:\n      group: g\n      ${{ vars.K }}: x"
    )
    found = problems(text + STEPS)
    assert [(line, col, rule) for line, col, rule, _ in found] == [(6, 7, "type")]
