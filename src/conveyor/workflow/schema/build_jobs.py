"""`jobs.<id>` nodes as `conveyor.workflow.model.Job` (normal jobs and reusable-workflow
calls), with the short forms GitHub allows: `container: image`, `services.x: image`,
`environment: name`, `concurrency: group`, `needs: one`, `secrets: inherit`.

`strategy`, `container`, `services.<id>` and a job's `defaults.run` written with an
expression key or `${{ insert }}`, or as one expression, are kept whole as the model's
`template`, and `services: ${{ … }}` as `services_template`: GitHub evaluates them before it
reads their properties.

Called by `build_workflow`. Pure.
"""

from __future__ import annotations

from conveyor.workflow.model import (
    Concurrency,
    Container,
    Environment,
    Job,
    Raw,
    RunDefaults,
    Strategy,
)
from conveyor.workflow.schema.build_steps import build_steps
from conveyor.workflow.schema.convert import at, field, raw, raw_map, text, texts
from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq


def build_job(job_id: str, node: Map, file: str) -> Job:
    condition = node.get("if")
    secrets = node.get("secrets")
    services = node.get("services")
    return Job(
        id=job_id,
        name=raw(node.get("name")),
        needs=texts(node.get("needs")) or (),
        if_=text(condition) if condition is not None else None,
        runs_on=raw(node.get("runs-on")),
        env=raw_map(node.get("env")),
        defaults=build_defaults(node.get("defaults")),
        outputs=raw_map(node.get("outputs")),
        strategy=_strategy(node.get("strategy")),
        timeout_minutes=_or(node, "timeout-minutes", 360),
        continue_on_error=_or(node, "continue-on-error", False),
        concurrency=build_concurrency(node.get("concurrency")),
        environment=_environment(node.get("environment")),
        container=_container(node.get("container"), file),
        services=_services(services, file),
        services_template=raw(services) if is_template(services) else None,
        permissions=raw(node.get("permissions")),
        steps=build_steps(node.get("steps"), file),
        uses=text(node.get("uses")),
        with_=raw_map(node.get("with")),
        secrets="inherit"
        if isinstance(secrets, Scalar)
        else (raw_map(secrets) if secrets else None),
        loc=at(file, node),
    )


def _or(node: Map, key: str, default: Raw) -> Raw:
    value = node.get(key)
    return default if value is None else raw(value)


def build_defaults(node: Node | None) -> RunDefaults:
    run = field(node, "run")
    if is_template(run):
        return RunDefaults(template=raw(run))
    return RunDefaults(
        shell=text(field(run, "shell")), working_directory=text(field(run, "working-directory"))
    )


def build_concurrency(node: Node | None) -> Concurrency | None:
    if node is None:
        return None
    if isinstance(node, Map):
        cancel = node.get("cancel-in-progress")
        return Concurrency(group=raw(node.get("group")), cancel_in_progress=raw(cancel) or False)
    return Concurrency(group=raw(node))


def _strategy(node: Node | None) -> Strategy | None:
    if node is None:
        return None
    if is_template(node):
        return Strategy(template=raw(node))
    if not isinstance(node, Map):
        return None
    return Strategy(
        matrix=raw(node.get("matrix")),
        fail_fast=_or(node, "fail-fast", True),
        max_parallel=raw(node.get("max-parallel")),
    )


def _environment(node: Node | None) -> Environment | None:
    if node is None:
        return None
    if isinstance(node, Map):
        return Environment(name=raw(node.get("name")), url=raw(node.get("url")))
    return Environment(name=raw(node))


def _container(node: Node | None, file: str, *, service: bool = False) -> Container | None:
    if node is None:
        return None
    if is_template(node, deep=True):
        return Container(image=None, template=raw(node), loc=at(file, node))
    if not isinstance(node, Map):
        image = raw(node)
        return Container(image=image, loc=at(file, node)) if image != "" else None
    ports, volumes = node.get("ports"), node.get("volumes")
    return Container(
        image=raw(node.get("image")),
        credentials=raw(node.get("credentials")),
        env=raw_map(node.get("env")),
        ports=tuple(raw(p) for p in ports.items) if isinstance(ports, Seq) else (),
        volumes=tuple(raw(v) for v in volumes.items) if isinstance(volumes, Seq) else (),
        options=raw(node.get("options")),
        entrypoint=raw(node.get("entrypoint")) if service else None,
        command=raw(node.get("command")) if service else None,
        loc=at(file, node),
    )


def is_template(node: Node | None, *, deep: bool = False) -> bool:
    """Whether GitHub evaluates `node` as a whole before reading its properties: it is one
    expression, or has an expression key (at any depth when `deep`)."""
    if isinstance(node, Scalar):
        return isinstance(node.value, str) and "${{" in node.value
    return _has_expression_key(node, deep=deep)


def _has_expression_key(node: Node | None, *, deep: bool) -> bool:
    if isinstance(node, Seq):
        return deep and any(_has_expression_key(item, deep=deep) for item in node.items)
    if not isinstance(node, Map):
        return False
    for key, value in node.pairs:
        if isinstance(key, Scalar) and "${{" in key.text:
            return True
        if deep and _has_expression_key(value, deep=deep):
            return True
    return False


def _services(node: Node | None, file: str) -> dict[str, Container]:
    if not isinstance(node, Map) or is_template(node):
        return {}  # a template: `Job.services_template`
    services = {}
    for key, value in node.items():
        container = _container(value, file, service=True)
        if container is not None:
            services[key.text] = container
    return services
