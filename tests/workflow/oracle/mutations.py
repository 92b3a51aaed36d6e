"""Ways to break (or bend) a valid workflow, each named by what it does.

`TREE_MUTATIONS` edit the generated value at a site the schema describes (an unknown key in
a mapping, a wrong type, a bad or disallowed expression, a missing required property, …) or
at a fixed place (the first job's `runs-on`, `needs`, ids, `workflow_dispatch` inputs) and
dump the result. `TEXT_MUTATIONS` edit the YAML text itself (duplicate keys, anchors,
directives, tags, YAML 1.1 scalars, deep nesting, long strings, GitHub's size limits). A
mutation returns None when the workflow has no place for it. Some results stay valid on
purpose (`runs-on` groups, anchors GitHub reads): the oracle decides, not the mutation.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from tests.workflow.oracle.mutations_text import TEXT_MUTATIONS
from tests.workflow.oracle.schema_gen import Path_, Site, body_of
from tests.workflow.oracle.yamltext import dump

TreeMutation = Callable[[random.Random, dict[str, Any], list[Site]], str | None]

__all__ = ["TEXT_MUTATIONS", "TREE_MUTATIONS", "job_field", "one_step"]


def _get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _set(tree: Any, path: Path_, value: Any) -> None:
    _get(tree, path[:-1])[path[-1]] = value


def _present(tree: Any, path: Path_) -> bool:
    try:
        _get(tree, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _kind(site: Site) -> str:
    body = body_of(site.definition)
    return next(
        k
        for k in (
            "mapping",
            "sequence",
            "one-of",
            "allowed-values",
            "string",
            "boolean",
            "number",
            "null",
        )
        if k in body
    )


def _replace_at(
    check: Callable[[Site, Any], bool], make: Callable[[random.Random, Site], Any]
) -> TreeMutation:
    """Replaces the value at one random site that `check` accepts."""

    def mutate(rng: random.Random, tree: dict[str, Any], sites: list[Site]) -> str | None:
        live = [s for s in sites if s.path and _present(tree, s.path)]
        fits = [s for s in live if check(s, _get(tree, s.path))]
        if not fits:
            return None
        site = rng.choice(fits)
        out = copy.deepcopy(tree)
        _set(out, site.path, make(rng, site))
        return dump(out)

    return mutate


def _edit(change: Callable[[random.Random, dict[str, Any]], bool]) -> TreeMutation:
    """Applies `change` to a copy; None when it found no place (returned False)."""

    def mutate(rng: random.Random, tree: dict[str, Any], sites: list[Site]) -> str | None:
        out = copy.deepcopy(tree)
        return dump(out) if change(rng, out) else None

    return mutate


def _is_fixed_mapping(site: Site, value: Any) -> bool:
    body = body_of(site.definition)
    return isinstance(value, dict) and bool(body.get("mapping", {}).get("properties"))


def _add_unknown_key(rng: random.Random, tree: dict[str, Any], sites: list[Site]) -> str | None:
    fits = [s for s in sites if _present(tree, s.path) and _is_fixed_mapping(s, _get(tree, s.path))]
    if not fits:
        return None
    site = rng.choice(fits)
    out = copy.deepcopy(tree)
    _get(out, site.path)[rng.choice(["bogus", "Runs-On", "step", "with_"])] = "x"
    return dump(out)


def _drop_required(rng: random.Random, tree: dict[str, Any], sites: list[Site]) -> str | None:
    places = []
    for site in sites:
        props = body_of(site.definition).get("mapping", {}).get("properties", {})
        value = _get(tree, site.path) if _present(tree, site.path) else None
        for key, prop in props.items():
            required = isinstance(prop, dict) and prop.get("required")
            if required and isinstance(value, dict) and key in value:
                places.append((*site.path, key))
    if not places:
        return None
    path = rng.choice(places)
    out = copy.deepcopy(tree)
    del _get(out, path[:-1])[path[-1]]
    return dump(out)


def _non_empty(site: Site, value: Any) -> bool:
    return bool(body_of(site.definition).get("string", {}).get("require-non-empty"))


def _scalar_string(site: Site, value: Any) -> bool:
    body = body_of(site.definition)
    return "string" in body and not body["string"].get("constant") and isinstance(value, str)


def _with_context(site: Site, value: Any) -> bool:
    return _scalar_string(site, value) and bool(site.context)


def _without_context(site: Site, value: Any) -> bool:
    return _scalar_string(site, value) and not site.context and len(site.path) > 1


BAD_SYNTAX = [
    "${{ github.sha",
    "${{ }}",
    "${{ foo( }}",
    "${{ 1 == }}",
    "${{ a.b.* == 'x }}",
    "${{ github.sha }} and ${{ )",
    "${{ 'unterminated }}",
    "${{ github['x' }}",
]
UNKNOWN_NAMES = [
    "${{ secretz.x }}",
    "${{ nope() }}",
    "${{ toJSON() }}",
    "${{ format('{0}') && contains(1) }}",
    "${{ always(1) }}",
    "${{ GitHub.sha }}",
]
ALL_CONTEXTS = [
    "github",
    "inputs",
    "vars",
    "needs",
    "strategy",
    "matrix",
    "secrets",
    "steps",
    "job",
    "runner",
    "env",
    "jobs",
]


def _disallowed(rng: random.Random, site: Site) -> str:
    allowed = {c.split("(")[0] for c in site.context}
    names = [c for c in ALL_CONTEXTS if c not in allowed]
    funcs = [
        f
        for f in ("always()", "hashFiles('a')", "success()")
        if f[:-2].split("(")[0] not in allowed
    ]
    pick = rng.choice(names + funcs) if names + funcs else "nope"
    return f"${{{{ {pick if '(' in pick else pick + '.x'} }}}}"


def _wrong_type(rng: random.Random, site: Site) -> Any:
    kind = _kind(site)
    if kind == "mapping":
        return rng.choice(["text", ["a"], 3])
    if kind == "sequence":
        return rng.choice([{"a": 1}, "text"])
    return rng.choice([{"k": "v"}, ["x", "y"], {}, []])


def _first_job(tree: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    jobs = tree.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return None
    job_id = next(iter(jobs))
    return job_id, jobs[job_id]


def _runner_job(tree: dict[str, Any]) -> dict[str, Any] | None:
    jobs = tree.get("jobs") or {}
    return next((j for j in jobs.values() if isinstance(j, dict) and "runs-on" in j), None)


def _runs_on(value: Any) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        job = _runner_job(tree)
        if job is None:
            return False
        job["runs-on"] = copy.deepcopy(value)
        return True

    return _edit(change)


def _rename_first_job(new_id: str) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        first = _first_job(tree)
        if first is None:
            return False
        jobs = tree["jobs"]
        tree["jobs"] = {(new_id if k == first[0] else k): v for k, v in jobs.items()}
        return True

    return _edit(change)


def _needs(kind: str) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        jobs = tree.get("jobs") or {}
        ids = list(jobs)
        last = jobs[ids[-1]] if ids else None
        if not isinstance(last, dict):
            return False
        if kind == "unknown":
            last["needs"] = ["ghost"]
        elif kind == "self":
            last["needs"] = ids[-1]
        elif kind == "cycle":
            if len(ids) < 2:
                return False
            jobs[ids[0]]["needs"] = ids[-1]
            last["needs"] = ids[0]
        elif kind == "case":
            if len(ids) < 2:
                return False
            last["needs"] = ids[0].upper()
        elif kind == "duplicate":
            if len(ids) < 2:
                return False
            last["needs"] = [ids[0], ids[0]]
        elif kind == "empty-list":
            last["needs"] = []
        return True

    return _edit(change)


def _dispatch(inputs: dict[str, Any]) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        tree["on"] = {"workflow_dispatch": {"inputs": copy.deepcopy(inputs)}}
        return True

    return _edit(change)


def _call(on_call: Any) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        tree["on"] = {"workflow_call": copy.deepcopy(on_call)}
        return True

    return _edit(change)


def _step_ids(ids: list[str]) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        job = next((j for j in (tree.get("jobs") or {}).values() if j.get("steps")), None)
        if job is None:
            return False
        job["steps"] = [{"id": i, "run": "echo"} for i in ids]
        return True

    return _edit(change)


def job_field(key: str, value: Any) -> TreeMutation:
    """Set `key` of the first runner job to `value` (also used by `mutations_features`)."""

    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        job = _runner_job(tree)
        if job is None:
            return False
        job[key] = copy.deepcopy(value)
        return True

    return _edit(change)


def one_step(step: dict[str, Any]) -> TreeMutation:
    """Make `step` the first runner job's only step (also used by `mutations_features`)."""
    return job_field("steps", [step])


def _on(value: Any) -> TreeMutation:
    def change(rng: random.Random, tree: dict[str, Any]) -> bool:
        tree["on"] = copy.deepcopy(value)
        return True

    return _edit(change)


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for n in range(levels):
        value = {"k": value} if n % 2 else [value]
    return value


def _choice(**extra: Any) -> dict[str, Any]:
    return {"pick": {"type": "choice", **extra}}


TREE_MUTATIONS: dict[str, TreeMutation] = {
    # anywhere the schema says
    "unknown-key": _add_unknown_key,
    "wrong-type": _replace_at(lambda s, v: v is not None, _wrong_type),
    "drop-required": _drop_required,
    "empty-non-empty-string": _replace_at(_non_empty, lambda rng, s: ""),
    "bad-expression-syntax": _replace_at(_scalar_string, lambda rng, s: rng.choice(BAD_SYNTAX)),
    "unknown-name-or-function": _replace_at(
        _with_context, lambda rng, s: rng.choice(UNKNOWN_NAMES)
    ),
    "disallowed-context": _replace_at(_with_context, _disallowed),
    "expression-without-context": _replace_at(_without_context, lambda rng, s: "${{ github.sha }}"),
    "null-value": _replace_at(lambda s, v: v is not None and len(s.path) > 1, lambda rng, s: None),
    "long-string": _replace_at(_scalar_string, lambda rng, s: "x" * rng.choice([2000, 70000])),
    # runs-on forms
    "runs-on-group": _runs_on({"group": "large-runners"}),
    "runs-on-group-labels": _runs_on({"group": "g", "labels": ["linux", "x64"]}),
    "runs-on-labels-only": _runs_on({"labels": "self-hosted"}),
    "runs-on-empty-mapping": _runs_on({}),
    "runs-on-empty-group": _runs_on({"group": ""}),
    "runs-on-unknown-key": _runs_on({"group": "g", "label": "x"}),
    "runs-on-empty-list": _runs_on([]),
    "runs-on-empty-string": _runs_on(""),
    "runs-on-expression": _runs_on("${{ matrix.os }}"),
    "runs-on-group-expression": _runs_on({"group": "${{ vars.GROUP }}"}),
    "runs-on-nested-list": _runs_on([["linux"]]),
    "runs-on-number": _runs_on(5),
    # needs
    "needs-unknown": _needs("unknown"),
    "needs-self": _needs("self"),
    "needs-cycle": _needs("cycle"),
    "needs-other-case": _needs("case"),
    "needs-duplicate": _needs("duplicate"),
    "needs-empty-list": _needs("empty-list"),
    # job ids
    "job-id-digit": _rename_first_job("1build"),
    "job-id-dot": _rename_first_job("build.x"),
    "job-id-dash-first": _rename_first_job("-build"),
    "job-id-space": _rename_first_job("my job"),
    "job-id-unicode": _rename_first_job("bäu"),
    "job-id-long": _rename_first_job("j" * 120),
    "job-id-empty": _rename_first_job(""),
    "job-id-expression": _rename_first_job("${{ github.sha }}"),
    # step ids
    "step-id-duplicate": _step_ids(["one", "one"]),
    "step-id-duplicate-case": _step_ids(["one", "ONE"]),
    "step-id-reserved": _step_ids(["__run", "x"]),
    "step-id-digit": _step_ids(["1st"]),
    "step-id-dash": _step_ids(["a-b", "c_d"]),
    # workflow_dispatch inputs
    "dispatch-choice-no-options": _dispatch(_choice()),
    "dispatch-choice-empty-options": _dispatch(_choice(options=[])),
    "dispatch-default-not-in-options": _dispatch(_choice(options=["a", "b"], default="c")),
    "dispatch-default-in-options": _dispatch(_choice(options=["a", "b"], default="b")),
    "dispatch-options-not-choice": _dispatch({"x": {"type": "string", "options": ["a"]}}),
    "dispatch-bad-type": _dispatch({"x": {"type": "text"}}),
    "dispatch-number-default-text": _dispatch({"x": {"type": "number", "default": "abc"}}),
    "dispatch-boolean-default-text": _dispatch({"x": {"type": "boolean", "default": "maybe"}}),
    "dispatch-boolean-default-string-true": _dispatch(
        {"x": {"type": "boolean", "default": "true"}}
    ),
    "dispatch-required-text": _dispatch({"x": {"required": "yes"}}),
    "dispatch-input-name-digit": _dispatch({"1x": {"type": "string"}}),
    "dispatch-input-name-space": _dispatch({"in put": {"type": "string"}}),
    "dispatch-input-null": _dispatch({"x": None}),
    "dispatch-inputs-empty": _dispatch({}),
    "dispatch-input-unknown-key": _dispatch({"x": {"type": "string", "min": 1}}),
    "dispatch-input-expression-default": _dispatch({"x": {"default": "${{ github.ref }}"}}),
    "dispatch-many-inputs": _dispatch({f"i{n}": {"type": "string"} for n in range(30)}),
    "dispatch-environment-default": _dispatch({"e": {"type": "environment", "default": "prod"}}),
    "dispatch-choice-numeric-options": _dispatch(_choice(options=[1, 2], default=1)),
    "dispatch-same-name-other-case": _dispatch({"ab": {}, "AB": {}}),
    # workflow_call
    "call-input-no-type": _call({"inputs": {"x": {"required": True}}}),
    "call-input-choice": _call({"inputs": {"x": {"type": "choice", "options": ["a"]}}}),
    "call-default-wrong-type": _call({"inputs": {"x": {"type": "number", "default": "a"}}}),
    "call-output-no-value": _call({"outputs": {"o": {"description": "d"}}}),
    "call-secret-null": _call({"secrets": {"S": None}}),
    "call-secret-github-prefix": _call({"secrets": {"GITHUB_TOKEN": {"required": True}}}),
    "call-secret-required-text": _call({"secrets": {"S": {"required": "true"}}}),
    # events
    "on-unknown-event": _on(["push", "pushed"]),
    "on-empty-list": _on([]),
    "on-bad-activity": _on({"issues": {"types": ["opened", "exploded"]}}),
    "on-branches-and-ignore": _on({"push": {"branches": ["a"], "branches-ignore": ["b"]}}),
    "on-paths-and-ignore": _on({"pull_request": {"paths": "a", "paths-ignore": "b"}}),
    "on-bad-cron": _on({"schedule": [{"cron": "61 * * * *"}]}),
    "on-short-cron": _on({"schedule": [{"cron": "* * * *"}]}),
    "on-cron-step-zero": _on({"schedule": [{"cron": "*/0 * * * *"}]}),
    "on-schedule-mapping": _on({"schedule": {"cron": "0 0 * * *"}}),
    "on-bad-timezone": _on({"schedule": [{"cron": "0 0 * * *", "timezone": "Mars/Base"}]}),
    "on-expression": _on("${{ github.event_name }}"),
    "on-event-list-in-mapping": _on({"push": ["main"]}),
    "on-bad-glob": _on({"push": {"branches": ["[abc"]}}),
    "on-empty-branch": _on({"push": {"branches": [""]}}),
    "on-repository-dispatch-types": _on({"repository_dispatch": {"types": ["a", "b"]}}),
    "on-workflow-run-no-workflows": _on({"workflow_run": {"types": ["completed"]}}),
    # jobs and steps
    "step-run-and-uses": one_step({"run": "x", "uses": "actions/checkout@v4"}),
    "step-neither": one_step({"name": "x"}),
    "step-uses-no-ref": one_step({"uses": "actions/checkout"}),
    "step-uses-expression": one_step({"uses": "actions/${{ matrix.x }}@v1"}),
    "step-uses-docker-empty": one_step({"uses": "docker://"}),
    "step-shell-on-uses": one_step({"uses": "actions/checkout@v4", "shell": "bash"}),
    "step-timeout-text": one_step({"run": "x", "timeout-minutes": "ten"}),
    "step-continue-expression": one_step({"run": "x", "continue-on-error": "${{ env.X }}"}),
    "step-with-nested": one_step({"uses": "a/b@v1", "with": {"x": {"y": 1}}}),
    "steps-empty": job_field("steps", []),
    "steps-mapping": job_field("steps", {"run": "x"}),
    "job-timeout-expression": job_field("timeout-minutes", "${{ matrix.t }}"),
    "job-timeout-negative": job_field("timeout-minutes", -5),
    "job-timeout-text": job_field("timeout-minutes", "soon"),
    "job-matrix-empty": job_field("strategy", {"matrix": {}}),
    "job-matrix-expression": job_field("strategy", {"matrix": "${{ fromJSON(needs.a.o) }}"}),
    "job-matrix-scalar-vector": job_field("strategy", {"matrix": {"os": "linux"}}),
    "job-matrix-include-mapping": job_field("strategy", {"matrix": {"include": {"a": 1}}}),
    "job-matrix-empty-vector": job_field("strategy", {"matrix": {"os": []}}),
    "job-matrix-deep": job_field("strategy", {"matrix": {"include": [{"v": _deep(60)}]}}),
    "job-matrix-secrets": job_field("strategy", {"matrix": {"k": ["${{ secrets.X }}"]}}),
    "job-environment-no-name": job_field("environment", {"url": "https://x"}),
    "job-environment-url-secret": job_field(
        "environment", {"name": "p", "url": "${{ secrets.U }}"}
    ),
    "job-concurrency-no-group": job_field("concurrency", {"cancel-in-progress": True}),
    "job-concurrency-bad-queue": job_field("concurrency", {"group": "g", "queue": "all"}),
    "job-permissions-bad-level": job_field("permissions", {"contents": "admin"}),
    "job-permissions-unknown-scope": job_field("permissions", {"everything": "read"}),
    "job-permissions-models-write": job_field("permissions", {"models": "write"}),
    "job-permissions-read-all": job_field("permissions", "read-all"),
    "job-permissions-empty": job_field("permissions", {}),
    "job-permissions-text": job_field("permissions", "read"),
    "job-container-empty": job_field("container", ""),
    "job-container-no-image": job_field("container", {"options": "--cpus 1"}),
    "job-container-credentials-half": job_field(
        "container", {"image": "a", "credentials": {"username": "u"}}
    ),
    "job-services-empty": job_field("services", {"db": ""}),
    "job-env-number-key": job_field("env", {1: "one"}),
    "job-env-bool-value": job_field("env", {"A": True, "B": None, "C": 1.5}),
    "job-env-nested": job_field("env", {"A": {"b": 1}}),
    "job-outputs-secrets": job_field("outputs", {"o": "${{ secrets.X }}"}),
    "job-if-bare-steps": job_field("if", "steps.x.outputs.y"),
    "job-if-unclosed": job_field("if", "${{ success()"),
    "job-if-boolean": job_field("if", False),
    "job-if-number": job_field("if", 0),
    "job-snapshot": job_field("snapshot", {"image-name": "img", "version": "1"}),
    "job-snapshot-string": job_field("snapshot", "img"),
    "job-cancel-timeout": job_field("cancel-timeout-minutes", 3),
    "job-name-matrix": job_field("name", "b ${{ matrix.os }}"),
    "job-name-steps": job_field("name", "b ${{ steps.x }}"),
}
