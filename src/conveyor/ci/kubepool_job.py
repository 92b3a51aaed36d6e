"""What a job adds to its Kubernetes runner pod, for `ci.kubepool` and `ci.kubepool_pods`.

A job's `services:` become more containers of the pod, so the job reaches each on
`localhost:<port>` (the containers of a pod share one network namespace), which is how
GitHub's container jobs reach services on Kubernetes; the agent then runs with
`--sidecar-services`. A job's `container:` becomes one more (`ci.kubepool_container`),
sharing the job's work directory and the executor's control directory with the agent
through emptyDir volumes mounted at the same paths in both, and the action store (read-only
in the job container), so paths mean the same on both sides; the agent then runs with
`--sibling-job-container` (`runners.sibling`). Like actions-runner-controller's container
mode, but without exec: the job container runs Conveyor's executor loop.

The pod is built before the job starts, so only what is written out can be translated:
`job_pod` refuses, with a message naming the field, expressions, host-port mappings (a pod
has no port to map: `H:C` with H ≠ C would lie), two containers on one port, and what
`ci.kubepool_container` cannot express; a service's `volumes`, `options` and `credentials`
too. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conveyor.ci.kubepool_container import job_container
from conveyor.ci.kubepool_fields import (
    EXPRESSION,
    PodSpecError,
    container_port,
    dns_label,
    has_expression,
)
from conveyor.runners.sibling_protocol import CONTROL_DIR
from conveyor.workflow.model import Container, Job
from conveyor.workflow.run.argv import split_arguments

WORK_DIR = "/tmp/conveyor-work"  # an emptyDir with a job container, else the image's /tmp
ACTIONS_DIR = "/tmp/conveyor-actions"  # the agent's action store, shared with the job container
ACTIONS_VARIABLE = "CONVEYOR_ACTIONS"  # `workflow.run.actions.store.ENV_VARIABLE`


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPod:
    """The parts of a runner pod that come from its job (none for a warm pod)."""

    containers: tuple[dict[str, Any], ...] = ()  # services, then the job container
    volumes: tuple[dict[str, Any], ...] = ()
    agent_mounts: tuple[dict[str, Any], ...] = ()
    agent_env: tuple[dict[str, Any], ...] = ()
    agent_args: tuple[str, ...] = ()


def needs_containers(job: Job) -> bool:
    """Whether the job needs containers beside the agent (a warm pod has none)."""
    return job.container is not None or bool(job.services) or job.services_template is not None


def job_pod(job: Job) -> JobPod:
    """The job's services and job container as parts of its pod (see the module docstring)."""
    where = f"jobs.{job.id}"
    services = services_containers(job)
    args = ("--sidecar-services",) if services else ()
    shared: list[dict[str, Any]] = [
        {"name": "work", "mountPath": WORK_DIR},
        {"name": "executor", "mountPath": CONTROL_DIR},
    ]
    found = None
    if job.container is not None:
        mounts = [*shared, {"name": "actions", "mountPath": ACTIONS_DIR, "readOnly": True}]
        found = job_container(f"{where}.container", job.container, mounts)
    if found is None:
        return JobPod(containers=tuple(services), agent_args=args)
    keys = [f"services.{key}" for key in job.services]
    _one_port_each(where, [*zip(keys, services, strict=True), ("container", found.container)])
    volumes: list[dict[str, Any]] = [
        {"name": name, "emptyDir": {}} for name in ("work", "executor", "actions")
    ]
    return JobPod(
        containers=(*services, found.container),
        volumes=(*volumes, *found.volumes),
        agent_mounts=(*shared, {"name": "actions", "mountPath": ACTIONS_DIR}),
        agent_env=({"name": ACTIONS_VARIABLE, "value": ACTIONS_DIR},),
        agent_args=(*args, "--sibling-job-container", CONTROL_DIR),
    )


def services_containers(job: Job) -> list[dict[str, Any]]:
    """The job's `services:` as containers of the runner pod (see the module docstring)."""
    where = f"jobs.{job.id}"
    if job.services_template is not None:
        raise PodSpecError(f"{where}.services: {EXPRESSION}")
    out = [_service(f"{where}.services.{key}", key, s) for key, s in job.services.items()]
    _one_port_each(f"{where}.services", list(zip(job.services, out, strict=True)))
    return out


def _one_port_each(where: str, containers: list[tuple[str, dict[str, Any]]]) -> None:
    """No two containers (named as the workflow names them) on one port."""
    ports: dict[int, str] = {}
    for name, container in containers:
        for port in container.get("ports", []):
            number = port["containerPort"]
            if number in ports:
                raise PodSpecError(
                    f"{where}: {ports[number]} and {name} both listen on port {number}; "
                    "in one pod they share localhost, so two containers cannot use one port"
                )
            ports[number] = name


def _service(where: str, key: str, service: Container) -> dict[str, Any]:
    if service.template is not None or has_expression(
        service.image, service.entrypoint, service.command, service.ports, service.env
    ):
        raise PodSpecError(f"{where}: {EXPRESSION}")
    for name, value in (
        ("volumes", service.volumes),
        ("options", service.options),
        ("credentials", service.credentials),
    ):
        if value:
            raise PodSpecError(
                f"{where}.{name}: not translated to a pod spec by the Kubernetes runner pool; "
                f"remove it or run this job on another runner"
            )
    container: dict[str, Any] = {"name": dns_label("svc", key), "image": str(service.image)}
    if service.env:
        container["env"] = [{"name": k, "value": str(v)} for k, v in service.env.items()]
    if service.ports:
        container["ports"] = [container_port(f"{where}.ports", str(p)) for p in service.ports]
    if service.entrypoint:
        container["command"] = [str(service.entrypoint)]
    if service.command:
        container["args"] = split_arguments(str(service.command))
    return container
