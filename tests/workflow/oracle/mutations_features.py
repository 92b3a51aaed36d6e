"""Mutations for the template features and run-start checks `conveyor lint` learnt last.

`${{ insert }}` and expression keys where GitHub evaluates them (env, with, matrix) and where
it does not (a step, a value), the directives GitHub's workflows do not have (`if`, `each`,
`else`), expression keys in the mappings with fixed properties, matrix `exclude` keys the
matrix lacks, shells, and env names GitHub runs but warns about (warnings do not reject).
Each edits the first runner job, as `mutations.job_field` does. An `action.yml` under
.github/workflows is no corpus sample: the oracle reads texts as workflows whatever their
name; the file-name routing is `conveyor lint`'s and tests/workflow/load/test_cmd_lint.py covers it.
"""

from __future__ import annotations

from typing import Any

from tests.workflow.oracle.mutations import TreeMutation, job_field, one_step

_KEY = "${{ vars.K }}"
_INSERT = "${{ insert }}"
_MATRIX = {"os": ["a", "b"]}


def _env(value: dict[Any, Any]) -> TreeMutation:
    return job_field("env", value)


def _strategy(value: dict[str, Any]) -> TreeMutation:
    return job_field("strategy", value)


FEATURE_MUTATIONS: dict[str, TreeMutation] = {
    # `${{ insert }}` and expression keys where GitHub evaluates them
    "env-insert": _env({_INSERT: "${{ fromJSON(vars.E) }}", "A": "1"}),
    "with-insert": one_step({"uses": "a/b@v1", "with": {_INSERT: "${{ fromJSON(vars.W) }}"}}),
    "matrix-insert": _strategy({"matrix": {_INSERT: "${{ fromJSON(vars.M) }}", **_MATRIX}}),
    "env-expression-key": _env({_KEY: "v"}),
    "with-expression-key": one_step({"uses": "a/b@v1", "with": {_KEY: "v"}}),
    "matrix-expression-key": _strategy({"matrix": {_KEY: ["a"]}}),
    "env-expression-key-secrets": _env({"${{ secrets.K }}": "v"}),
    # where it does not
    "insert-as-value": _env({"A": _INSERT}),
    "insert-in-step": one_step({_INSERT: "${{ fromJSON(vars.S) }}", "run": "x"}),
    "insert-with-argument": _env({"${{ insert(1) }}": "${{ fromJSON(vars.E) }}"}),
    "directive-if": _env({"${{ if true }}": {"A": "1"}}),
    "directive-each": _env({"${{ each x in vars }}": {"A": "1"}}),
    "directive-else": _env({"${{ else }}": {"A": "1"}}),
    # expression keys in mappings with fixed properties
    "strategy-expression-key": _strategy({_KEY: True, "matrix": _MATRIX}),
    "container-expression-key": job_field("container", {"image": "x", _KEY: "y"}),
    "concurrency-expression-key": job_field("concurrency", {"group": "g", _KEY: True}),
    "environment-expression-key": job_field("environment", {"name": "p", _KEY: "y"}),
    "defaults-run-expression-key": job_field("defaults", {"run": {"shell": "bash", _KEY: "y"}}),
    "strategy-insert": _strategy({_INSERT: "${{ fromJSON(needs.a.outputs.strategy) }}"}),
    "strategy-expression": job_field("strategy", "${{ fromJSON(vars.STRATEGY) }}"),
    "container-insert-only": job_field("container", {_INSERT: "${{ fromJSON(vars.C) }}"}),
    "container-credentials-insert": job_field(
        "container", {"image": "x", "credentials": {_INSERT: "${{ fromJSON(secrets.C) }}"}}
    ),
    "defaults-run-insert": job_field("defaults", {"run": {_INSERT: "${{ fromJSON(env.D) }}"}}),
    "runs-on-expression-key": job_field("runs-on", {"group": "g", _KEY: "y"}),
    "services-expression-name": job_field("services", {_KEY: {"image": "x"}}),
    # run-start checks
    "matrix-exclude-unknown-key": _strategy({"matrix": {**_MATRIX, "exclude": [{"cpu": "x"}]}}),
    "matrix-exclude-known-key": _strategy({"matrix": {**_MATRIX, "exclude": [{"os": "a"}]}}),
    "step-shell-invalid": one_step({"run": "x", "shell": "fish"}),
    "step-shell-format": one_step({"run": "x", "shell": "fish {0}"}),
    "step-shell-builtin-case": one_step({"run": "x", "shell": "Bash"}),
    "env-name-space": _env({"A B": "1"}),
    "env-name-equals": _env({"A=B": "1"}),
}
