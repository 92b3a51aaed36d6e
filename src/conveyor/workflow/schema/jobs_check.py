"""GitHub's rules on `jobs:` beyond the schema: ids, the `needs` graph, matrix vectors,
container images and step ids.

Messages are GitHub's: "Job 'a' depends on unknown job 'b'.", "Job 'two' depends on job
'three' which creates a cycle in the dependency graph.", "The workflow must contain at
least one job with no dependencies.". Runs after `reader` on the same nodes; tolerates any
shape the reader already reported. GitHub's converter checks the `needs` graph only when no
other error was found (C# `WorkflowTemplateConverter.ConvertToJobs` returns early); Conveyor
checks it always, so `conveyor lint` may list a needs error that GitHub shows only once the
other errors are fixed (never one GitHub would not show then).

Called by `conveyor.workflow.load`. Pure.
"""

from __future__ import annotations

from conveyor.workflow.schema.directives import is_directive
from conveyor.workflow.schema.expressions import check_expression, split_template
from conveyor.workflow.schema.ids import invalid_id_message
from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq
from conveyor.workflow.schema.problems import Sink
from conveyor.workflow.schema.steps_check import check_step_kinds, check_steps


def check_jobs(root: Node, sink: Sink) -> None:
    """Check every job of a workflow's root mapping."""
    jobs = root.get("jobs") if isinstance(root, Map) else None
    if not isinstance(jobs, Map):
        return
    for key, job in jobs.items():
        if key.text:
            message = invalid_id_message(key.text)
            if message:
                sink.add(key.line, key.col, message, "job-id")
        if isinstance(job, Map):
            _check_job(job, sink)
    check_needs(jobs, sink)


def _check_job(job: Map, sink: Sink) -> None:
    steps = job.get("steps")
    if isinstance(steps, Seq):
        check_steps(steps, sink)
        check_step_kinds(steps, sink)
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, Map) else None
    if isinstance(matrix, Map):
        for key, vector in matrix.items():
            if (
                isinstance(vector, Seq)
                and not vector.items
                and key.text not in ("include", "exclude")
            ):
                sink.add(
                    vector.line,
                    vector.col,
                    f"Matrix vector '{key.text}' does not contain any values",
                    "matrix",
                )
    _check_container(job.get("container"), sink)
    services = job.get("services")
    if isinstance(services, Map):
        for _, service in services.items():
            _check_container(service, sink)


def _check_container(node: Node | None, sink: Sink) -> None:
    # `container: ''` is no container (GitHub's ConvertToJobContainer returns null for an
    # empty string); only a mapping without an image is an error. An empty service string
    # is already a schema error (non-empty-string), as is an empty or null `image:` in a
    # mapping: only a missing one is reported here, like GitHub's converter.
    # GitHub's converter checks a container only when no key or value in it is an
    # expression (the runner evaluates it at job start): `${{ insert }}` may bring the image.
    if isinstance(node, Map) and node.get("image") is None and not _holds_expression(node):
        sink.add(node.line, node.col, "Container image cannot be empty", "container")


#: the contexts of GitHub's `container` definition; `credentials` adds these
_CONTAINER_CONTEXT = ("github", "inputs", "vars", "needs", "strategy", "matrix")
_NESTED_CONTEXT = (*_CONTAINER_CONTEXT, "secrets", "env")


def _holds_expression(node: Node, context: tuple[str, ...] = _CONTAINER_CONTEXT) -> bool:
    """Whether a key or value anywhere in `node` is a valid expression (an invalid one was
    reported by the reader and reads as a string, as in GitHub's parser)."""
    if isinstance(node, Scalar):
        return _is_expression(node, context)
    children = node.items if isinstance(node, Seq) else [n for pair in node.pairs for n in pair]
    return any(
        _holds_expression(child, context if isinstance(child, Scalar) else _NESTED_CONTEXT)
        for child in children
    )


def _is_expression(node: Scalar, context: tuple[str, ...]) -> bool:
    if not isinstance(node.value, str) or "${{" not in node.value:
        return False
    segments = split_template(node.value)
    if segments is None:
        return False
    expressions = [text for is_expr, text in segments if is_expr]
    return all(is_directive(t) or check_expression(t, context) is None for t in expressions)


def _needs_of(job: Node) -> list[Scalar]:
    needs = job.get("needs") if isinstance(job, Map) else None
    if isinstance(needs, Scalar):
        return [needs] if needs.text else []
    if isinstance(needs, Seq):
        return [n for n in needs.items if isinstance(n, Scalar) and n.text]
    return []


def check_needs(jobs: Map, sink: Sink) -> None:
    """Unknown needs, cycles, and at least one job without needs (GitHub's order)."""
    names = [key.text for key, _ in jobs.items()]
    pending: dict[str, list[Scalar]] = {}
    ready: list[str] = []
    for key, job in jobs.items():
        needs = _needs_of(job)
        if needs:
            pending[key.text] = list(needs)
        else:
            ready.append(key.text)
    if not ready:
        sink.add(
            jobs.line,
            jobs.col,
            "The workflow must contain at least one job with no dependencies.",
            "needs",
        )
        return
    while ready:
        done = ready.pop(0)
        for name in list(pending):
            remaining = [n for n in pending[name] if n.text != done]
            pending[name] = remaining
            if not remaining:
                del pending[name]
                ready.append(name)
    for name, needs in pending.items():
        for need in needs:
            if need.text in names:
                message = (
                    f"Job '{name}' depends on job '{need.text}' which creates a cycle in the "
                    "dependency graph."
                )
                sink.add(need.line, need.col, message, "needs-cycle")
            else:
                message = f"Job '{name}' depends on unknown job '{need.text}'."
                sink.add(need.line, need.col, message, "needs-unknown")
