"""Valid workflows generated from GitHub's schema (`workflow-v1.0.min.json`), deterministically.

`WorkflowGen(rng).workflow()` walks `workflow-root-strict`: a mapping gets its required
properties and a random subset of the others, a one-of picks a member, a sequence gets a few
items. Definitions whose strings carry meaning the schema does not spell out (cron, job ids,
`needs`, step ids, `uses`, matrix, `workflow_dispatch` inputs, …) come from `SPECIAL` so the
result is also semantically valid. Strings under a definition with `context` sometimes
hold an expression using only the contexts allowed there. Every generated node is recorded
as a `Site` (path, definition, allowed contexts) so `mutations` can change it on purpose.

The schema is read from the npm package directly, not through Conveyor, so the oracle does
not share Conveyor's reading of it.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DIST = Path(__file__).parents[3] / ".venv" / "node" / "node_modules" / "@actions"
SCHEMA_FILE = DIST / "workflow-parser" / "dist" / "workflow-v1.0.min.json"

Path_ = tuple[str | int, ...]

#: experimental parts of the schema that need the `allowBackgroundSteps` flag
EXPERIMENTAL = {"wait-step", "wait-all-step", "cancel-step", "parallel-step", "step-background"}
CRONS = ["0 0 * * *", "*/15 * * * 1-5", "30 4 1,15 * *", "0 12 * JAN-JUN MON", "5 4 * * SUN"]
ACTIONS = ["actions/checkout@v4", "actions/setup-node@v4", "docker://alpine:3.19", "./.github/a"]
SHELLS = ["bash", "sh", "pwsh", "python", "powershell", "cmd", "bash -e {0}"]
EXPRESSIONS = {
    "github": "github.sha",
    "inputs": "inputs.name",
    "vars": "vars.LEVEL",
    "needs": "needs.a.result",
    "strategy": "strategy.job-index",
    "matrix": "matrix.os",
    "secrets": "secrets.TOKEN",
    "steps": "steps.s1.outputs.x",
    "job": "job.status",
    "runner": "runner.os",
    "env": "env.HOME",
    "jobs": "jobs.build.outputs.x",
    "hashFiles": "hashFiles('**/*.lock')",
    "always": "always()",
    "success": "success()",
    "failure": "failure()",
    "cancelled": "cancelled()",
}


@functools.cache
def definitions() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["definitions"]
    return data


#: the schema's built-in type names, as definitions
BUILT_IN: dict[str, Any] = {
    "string": {"string": {}},
    "boolean": {"boolean": {}},
    "number": {"number": {}},
    "null": {"null": {}},
    "sequence": {"sequence": {"item-type": "any"}},
    "mapping": {"mapping": {"loose-key-type": "string", "loose-value-type": "any"}},
    "any": {"one-of": ["string", "boolean", "number", "sequence", "mapping"]},
}


def body_of(name: str) -> dict[str, Any]:
    found: dict[str, Any] = definitions().get(name) or BUILT_IN[name]
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """One generated node: where it is and what the schema says it is."""

    path: Path_
    definition: str
    context: tuple[str, ...]


def context_names(context: tuple[str, ...]) -> list[str]:
    return [c.split("(")[0] for c in context]


def allowed_expression(rng: random.Random, context: tuple[str, ...]) -> str:
    names = context_names(context)
    return EXPRESSIONS[rng.choice(names)] if names else ""


@dataclass(slots=True)
class WorkflowGen:
    """One random valid workflow per `workflow()` call; `sites` and `seen` describe it."""

    rng: random.Random
    sites: list[Site] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    job_ids: list[str] = field(default_factory=list)
    step_count: int = 0
    #: every optional property, one-of members in turn: what covers the schema quickly
    full: bool = False
    turns: dict[str, int] = field(default_factory=dict)

    def workflow(self, *, full: bool = False) -> dict[str, Any]:
        self.sites, self.job_ids, self.step_count, self.full = [], [], 0, full
        value = self.value("workflow-root-strict", (), ())
        assert isinstance(value, dict)
        return value

    def value(self, name: str, path: Path_, context: tuple[str, ...]) -> Any:
        body = body_of(name)
        context = tuple(body.get("context", context))
        self.seen.add(name)
        self.sites.append(Site(path=path, definition=name, context=context))
        special = SPECIAL.get(name)
        if special is not None:
            return special(self, path, context)
        if "mapping" in body:
            return self.mapping(body["mapping"], path, context)
        if "sequence" in body:
            return self.sequence(body["sequence"]["item-type"], path, context)
        if "one-of" in body:
            members = [m for m in body["one-of"] if m not in EXPERIMENTAL]
            return self.value(self.member(name, members), path, context)
        if "allowed-values" in body:
            return self.rng.choice(body["allowed-values"])
        return self.scalar(name, body, context)

    def reachable(self) -> set[str]:
        """Definitions a workflow can use (the experimental ones aside)."""
        found: set[str] = set()
        todo = ["workflow-root-strict"]
        while todo:
            name = todo.pop()
            if name in found or name in EXPERIMENTAL or name in BUILT_IN:
                continue
            found.add(name)
            todo.extend(_references(body_of(name)))
        return found

    def member(self, name: str, members: list[str]) -> str:
        if not self.full:
            return self.rng.choice(members)
        turn = self.turns.get(name, 0)
        self.turns[name] = turn + 1
        members = sorted(members, key=lambda m: m == "null")  # null last: reach the others
        return members[turn % len(members)]

    def scalar(self, name: str, body: dict[str, Any], context: tuple[str, ...]) -> Any:
        if "boolean" in body:
            return self.rng.choice([True, False])
        if "number" in body:
            return self.rng.choice([1, 5, 30, 360])
        if "null" in body:
            return None
        constant = body.get("string", {}).get("constant")
        if constant:
            return constant
        if context and self.rng.random() < 0.3:
            return f"pre-${{{{ {allowed_expression(self.rng, context)} }}}}"
        return self.rng.choice(["build", "ubuntu-latest", "hello world", "v1.2", "x"])

    def mapping(self, body: dict[str, Any], path: Path_, context: tuple[str, ...]) -> Any:
        out: dict[str, Any] = {}
        for key, prop in body.get("properties", {}).items():
            spec = prop if isinstance(prop, dict) else {"type": prop}
            if spec["type"] in EXPERIMENTAL:
                continue
            if spec.get("required") or self.full or self.rng.random() < 0.35:
                out[key] = self.value(spec["type"], (*path, key), context)
        if "loose-value-type" in body and (not out or self.rng.random() < 0.5):
            self.seen.add(body["loose-key-type"])
            for n in range(self.rng.randint(1, 2)):
                key = f"KEY_{n}"
                out[key] = self.value(body["loose-value-type"], (*path, key), context)
        for key in [k for k in out if f"{k}-ignore" in out]:
            del out[f"{key}-ignore"]  # one of each filter pair (both: a GitHub server error)
        return out

    def sequence(self, item: str, path: Path_, context: tuple[str, ...]) -> list[Any]:
        count = self.rng.randint(1, 2)
        if self.full and "one-of" in body_of(item):
            count = len(body_of(item)["one-of"])  # every member once
        return [self.value(item, (*path, n), context) for n in range(count)]


def _references(body: dict[str, Any]) -> list[str]:
    mapping = body.get("mapping", {})
    props = [
        p["type"] if isinstance(p, dict) else p for p in mapping.get("properties", {}).values()
    ]
    loose = [mapping[k] for k in ("loose-key-type", "loose-value-type") if k in mapping]
    items = [body["sequence"]["item-type"]] if "sequence" in body else []
    return props + loose + items + list(body.get("one-of", []))


def _jobs(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    gen.seen.add("job-id")
    for n in range(gen.rng.randint(1, 3)):
        job_id = gen.rng.choice(["build", "test", "deploy", "lint", "_x", "job-2", "a_b"])
        job_id = job_id if job_id not in out else f"{job_id}{n}"
        job = gen.value("job", (*path, job_id), context)
        if gen.job_ids and gen.rng.random() < 0.5:
            job["needs"] = gen.rng.choice([gen.job_ids[-1], list(gen.job_ids)])
        else:
            job.pop("needs", None)
        gen.job_ids.append(job_id)
        out[job_id] = job
    return out


def _steps(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> list[Any]:
    steps = []
    gen.seen.add("steps-item")
    for n in range(gen.rng.randint(1, 3)):
        kind = gen.member("steps", ["run-step", "regular-step"])
        step = gen.value(kind, (*path, n), context)
        step.pop("id", None)
        if gen.rng.random() < 0.4:
            gen.step_count += 1
            step["id"] = f"s{gen.step_count}"
        steps.append(step)
    return steps


def _matrix(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    gen.seen.update(["matrix-filter", "matrix-filter-item"])
    out: dict[str, Any] = {"os": ["ubuntu-latest", "windows-latest"]}
    if gen.rng.random() < 0.5:
        out["node"] = [18, 20]
    if gen.rng.random() < 0.3:
        out["include"] = [{"os": "macos-latest", "extra": {"deep": [1, {"x": True}]}}]
    if gen.rng.random() < 0.3:
        out["exclude"] = [{"os": "windows-latest"}]
    return out


def _dispatch_input(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    gen.seen.update(["workflow-dispatch-input-type", "workflow-dispatch-input-default"])
    gen.seen.update([f"input-type-{k}" for k in ("string", "boolean", "number", "choice")])
    gen.seen.update(["input-type-environment", "sequence-of-string"])
    kind = gen.rng.choice(["string", "boolean", "number", "choice", "environment", None])
    out: dict[str, Any] = {"description": "an input"}
    if kind:
        out["type"] = kind
    if gen.rng.random() < 0.5:
        out["required"] = gen.rng.choice([True, False])
    if kind == "choice":
        out["options"] = ["one", "two"]
        out["default"] = "two"
    elif kind == "boolean":
        out["default"] = gen.rng.choice([True, False])
    elif kind == "number":
        out["default"] = 3
    elif kind in ("string", None) and gen.rng.random() < 0.5:
        out["default"] = "text"
    return out


def _call_input(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    gen.seen.update(["workflow-call-input-type", "workflow-call-input-default"])
    kind = gen.rng.choice(["string", "boolean", "number"])
    out: dict[str, Any] = {"type": kind, "required": gen.rng.choice([True, False])}
    if gen.rng.random() < 0.5:
        out["default"] = {"string": "${{ github.ref }}", "boolean": False, "number": 2}[kind]
    return out


def _reusable_job(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    body = definitions()["workflow-job"]["mapping"]
    job: dict[str, Any] = gen.mapping(body, path, context)
    job["uses"] = gen.rng.choice(
        ["octo/repo/.github/workflows/ci.yml@v1", "octo/repo/.github/workflows/b.yaml@main"]
    )
    return job


def _container(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    body = definitions()["container-mapping"]["mapping"]
    container: dict[str, Any] = gen.mapping(body, path, context)
    container["image"] = gen.rng.choice(["node:20", "ghcr.io/o/i@sha256:abc", "alpine"])
    return container


def _pick(
    *values: Any, covers: tuple[str, ...] = ()
) -> Callable[[WorkflowGen, Path_, tuple[str, ...]], Any]:
    def pick(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> Any:
        gen.seen.update(covers)
        return gen.rng.choice(values)

    return pick


def _keyed(
    prefix: str, item: str, key: str
) -> Callable[[WorkflowGen, Path_, tuple[str, ...]], Any]:
    def build(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
        gen.seen.add(key)
        return {
            f"{prefix}{n}": gen.value(item, (*path, f"{prefix}{n}"), context)
            for n in range(gen.rng.randint(1, 2))
        }

    return build


def _env(gen: WorkflowGen, path: Path_, context: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"CI": "true", "LEVEL": 3}
    if context and gen.rng.random() < 0.5:
        out["FROM_CTX"] = f"${{{{ {allowed_expression(gen.rng, context)} }}}}"
    return out


SPECIAL: dict[str, Callable[[WorkflowGen, Path_, tuple[str, ...]], Any]] = {
    "jobs": _jobs,
    "workflow-job": _reusable_job,
    "container-mapping": _container,
    "service-container-mapping": _container,
    "steps": _steps,
    "matrix": _matrix,
    "workflow-dispatch-input": _dispatch_input,
    "workflow-dispatch-inputs": _keyed(
        "in_", "workflow-dispatch-input", "workflow-dispatch-input-name"
    ),
    "workflow-call-input-definition": _call_input,
    "workflow-call-inputs": _keyed("arg_", "workflow-call-input-definition", "non-empty-string"),
    "workflow-env": _env,
    "job-env": _env,
    "step-env": _env,
    "cron-pattern": _pick(*CRONS),
    "timezone-string": _pick("UTC", "Europe/Paris", "America/New_York"),
    "step-uses": _pick(*ACTIONS),
    "shell": _pick(*SHELLS),
    "working-directory": _pick("src", "./build"),
    "job-if": _pick("success()", "${{ github.event_name == 'push' }}", "always()"),
    "step-if": _pick("success()", "${{ runner.os == 'Linux' }}", "hashFiles('x') != ''"),
    "snapshot-if": _pick("${{ matrix.os == 'x' }}", "true"),
    "workflow-output-context": _pick("${{ jobs.build.outputs.x }}", "literal"),
    "needs": _pick("nobody"),  # replaced by _jobs with real ids, or removed
    "job-concurrency": _pick(
        "group-${{ github.ref }}",
        {"group": "g", "cancel-in-progress": True},
        covers=("concurrency-mapping", "concurrency-queue"),
    ),
    "workflow-concurrency": _pick("ci-${{ github.ref }}", {"group": "ci", "queue": "max"}),
    "event-branches": _pick("main", ["main", "release/**"]),
    "event-branches-ignore": _pick("gh-pages", ["tmp/*"]),
    "event-tags": _pick("v*", ["v1.*", "!v1.0"]),
    "event-tags-ignore": _pick("beta*"),
    "event-paths": _pick("src/**", ["**.py", "!docs/**"]),
    "event-paths-ignore": _pick("docs/**"),
}
