"""`container:` and `services.<id>:` evaluated at job start, as GitHub's runner does.

The runner evaluates the job container, then the service containers, when the job starts
(actions/runner JobExtension: `EvaluateJobContainer`, `EvaluateJobServiceContainers`), with
the job's contexts (`matrix`, `needs`, `secrets`, `env`, …). A container written with an
expression key or `${{ insert }}` anywhere in it, or as one expression, is a
`Container.template`: the whole template is evaluated first and its properties read after,
so a key that is no container property after evaluation is an error; a string is the image.
A written-out container has each property evaluated. `services:` written as one expression
is `Job.services_template`:
the whole map is evaluated first (`EvaluateJobServiceContainers` evaluates the `services`
token as a whole), each entry then read as a service.

Services also have `entrypoint` and `command` (GitHub's `service-container-mapping`, actions/
runner#4276): both strings, given to `docker create` as `--entrypoint "<entrypoint>"` and as
the arguments after the image; the job container has neither.

`resolve` and `resolve_services` give `ContainerSpec`s of plain strings that nothing
evaluates again (a value that happens to contain `${{` stays text). Called by
`conveyor.workflow.run.job`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, Value, evaluate_mapping, evaluate_raw, to_str
from conveyor.workflow.model import Container, Raw

#: properties of GitHub's `container-mapping`
PROPERTIES = ("image", "credentials", "env", "ports", "volumes", "options")
#: properties of GitHub's `service-container-mapping`
SERVICE_PROPERTIES = (*PROPERTIES, "entrypoint", "command")


class ContainerError(ConveyorError):
    """A container that does not evaluate to a usable definition (the job fails)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerSpec:
    """A container with every expression evaluated."""

    image: str
    credentials: Mapping[str, str] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    options: str = ""
    entrypoint: str = ""  # services only: replaces the image's ENTRYPOINT when not empty
    command: str = ""  # services only: the arguments after the image, as one string


def resolve(
    container: Container, ctx: EvalContext, *, where: str, service: bool = False
) -> ContainerSpec:
    """The evaluated container; `where` names it in errors (`jobs.build.container`)."""
    if container.template is not None:
        return from_value(evaluate_raw(container.template, ctx), where=where, service=service)
    return ContainerSpec(
        image=to_str(evaluate_raw(container.image, ctx)),
        credentials=_credentials(evaluate_raw(container.credentials, ctx)),
        env=_env(evaluate_mapping(container.env, ctx)),
        ports=tuple(to_str(evaluate_raw(p, ctx)) for p in container.ports),
        volumes=tuple(to_str(evaluate_raw(v, ctx)) for v in container.volumes),
        options=to_str(evaluate_raw(container.options, ctx)),
        entrypoint=to_str(evaluate_raw(container.entrypoint, ctx)),
        command=to_str(evaluate_raw(container.command, ctx)),
    )


def resolve_services(
    services: Mapping[str, Container], template: Raw, ctx: EvalContext, *, where: str
) -> dict[str, ContainerSpec]:
    """`services:` evaluated: the whole `template` when there is one, else each entry;
    `where` names the job (`jobs.build`)."""
    if template is None:
        return {
            key: resolve(service, ctx, where=f"{where}.services.{key}", service=True)
            for key, service in services.items()
        }
    value = evaluate_raw(template, ctx)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ContainerError(
            f"{where}.services evaluated to {type(value).__name__}, not a mapping of service "
            "names to services"
        )
    out: dict[str, ContainerSpec] = {}
    for key, item in value.items():
        name = str(key)
        if not name:
            raise ContainerError(f"{where}.services: a service name evaluated to ''")
        out[name] = from_value(item, where=f"{where}.services.{name}", service=True)
    return out


def from_value(value: Value, *, where: str, service: bool) -> ContainerSpec:
    """A container from its evaluated value: an image name, or a mapping of its properties."""
    allowed = SERVICE_PROPERTIES if service else PROPERTIES
    if value is None or isinstance(value, str):
        return ContainerSpec(image=to_str(value))
    if not isinstance(value, Mapping):
        raise ContainerError(
            f"{where} evaluated to {type(value).__name__}, not an image name or a mapping "
            f"of {', '.join(allowed)}"
        )
    unknown = [key for key in value if key not in allowed]
    if unknown:
        raise ContainerError(
            f"{where}: Unexpected value '{unknown[0]}' (after evaluating its expressions); "
            f"a {'service' if service else 'job'} container has only {', '.join(allowed)}"
        )
    return ContainerSpec(
        image=to_str(value.get("image")),
        credentials=_credentials(value.get("credentials")),
        env=_env(_mapping(value.get("env"), f"{where}.env")),
        ports=_strings(value.get("ports"), f"{where}.ports"),
        volumes=_strings(value.get("volumes"), f"{where}.volumes"),
        options=to_str(value.get("options")),
        entrypoint=_string(value.get("entrypoint"), f"{where}.entrypoint"),
        command=_string(value.get("command"), f"{where}.command"),
    )


def _string(value: Value, where: str) -> str:
    if isinstance(value, Mapping | list):
        raise ContainerError(f"{where} must be a string, not {type(value).__name__}")
    return to_str(value)


def _mapping(value: Value, where: str) -> Mapping[str, Value]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ContainerError(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _strings(value: Value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ContainerError(f"{where} must be a sequence, not {type(value).__name__}")
    return tuple(to_str(item) for item in value)


def _env(values: Mapping[str, Value]) -> dict[str, str]:
    return {str(k): to_str(v) for k, v in values.items()}


def _credentials(value: Value) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    return {str(k): to_str(v) for k, v in value.items()}
