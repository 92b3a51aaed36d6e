"""Errors GitHub raises when a run starts, caught by lint, and warnings on odd env names."""

from __future__ import annotations

import pytest

from conveyor.workflow.schema.problems import Severity
from conveyor.workflow.schema.validate import check_workflow

HEAD = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
STEPS = "    steps:\n      - run: echo\n"
SHELL = (
    "Invalid shell option. Shell must be a valid built-in (bash, sh, cmd, powershell, pwsh) "
    "or a format string containing '{0}'"
)


def found(text: str) -> list[tuple[int, int, str, str, Severity]]:
    checked = check_workflow(text, "w.yml")
    return [
        (p.location.line, p.location.col, p.rule, p.message, p.severity) for p in checked.problems
    ]


CASES = [
    pytest.param(
        HEAD + "    strategy:\n      matrix:\n        os: [a]\n        exclude:\n"
        "          - os: a\n            arch: x\n" + STEPS,
        [
            (
                10,
                13,
                "matrix",
                "Matrix exclude key 'arch' does not match any key within the matrix",
                Severity.ERROR,
            )
        ],
        id="exclude key not in the matrix",
    ),
    pytest.param(
        HEAD + "    strategy:\n      matrix:\n        os: [a]\n        include:\n"
        "          - os: a\n            arch: x\n        exclude:\n          - os: a\n" + STEPS,
        [],
        id="include may add keys",
    ),
    pytest.param(
        HEAD + "    strategy:\n      matrix: ${{ fromJSON(needs.x.outputs.m) }}\n" + STEPS,
        [],
        id="computed matrix is checked at run time",
    ),
    pytest.param(
        HEAD + "    steps:\n      - run: echo\n        shell: fish\n",
        [(7, 16, "shell", SHELL, Severity.ERROR)],
        id="unknown shell",
    ),
    pytest.param(
        HEAD + "    defaults:\n      run:\n        shell: perl -e\n" + STEPS,
        [(7, 16, "shell", SHELL, Severity.ERROR)],
        id="job default shell without {0}",
    ),
    pytest.param(
        "on: push\ndefaults:\n  run:\n    shell: zsh\n"
        "jobs:\n  a: {runs-on: x, steps: [{run: a}]}\n",
        [(4, 12, "shell", SHELL, Severity.ERROR)],
        id="workflow default shell",
    ),
    pytest.param(
        HEAD + "    steps:\n      - run: echo\n        shell: perl {0}\n"
        "      - run: echo\n        shell: python\n      - run: echo\n        shell: pwsh\n",
        [],
        id="format string and built-ins",
    ),
    pytest.param(
        HEAD + "    steps:\n      - run: echo\n        shell: Bash\n"
        "      - run: echo\n        shell: PWSH\n",
        [],
        id="built-in names in any case, as the runner's OrdinalIgnoreCase table",
    ),
    pytest.param(
        HEAD + "    env:\n      'A B': 1\n      'C=D': 2\n" + STEPS,
        [
            (
                6,
                7,
                "env-name",
                "Environment variable name 'A B' contains '=' or whitespace; "
                "a process cannot receive it as written",
                Severity.WARNING,
            ),
            (
                7,
                7,
                "env-name",
                "Environment variable name 'C=D' contains '=' or whitespace; "
                "a process cannot receive it as written",
                Severity.WARNING,
            ),
        ],
        id="odd env names warn",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_start_time_errors_and_name_warnings(text: str, expected: list[object]) -> None:
    assert found(text) == expected


def test_warnings_leave_the_workflow_valid() -> None:
    checked = check_workflow(HEAD + "    env:\n      'A B': 1\n" + STEPS, "w.yml")
    assert checked.ok
