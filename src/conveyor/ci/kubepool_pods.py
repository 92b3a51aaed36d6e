"""A runner pod and its credential Secret as Kubernetes objects (plain dicts), for
`ci.kubepool`.

One pod runs one `conveyor runner --ephemeral` (it takes one job and exits; `restartPolicy:
Never`), with its just-in-time credential in `$CONVEYOR_TOKEN` from a Secret created with it
(`secretKeyRef`; the agent removes the variable from its environment once read,
`ci.agent.read_token`). The pod gets no service account token: the agent talks to Conveyor,
never to the Kubernetes API.

A job's `services:` become more containers of the same pod, so the job reaches each on
`localhost:<port>` (the containers of a pod share one network namespace), which is how
GitHub's container jobs reach services on Kubernetes. The pod is built before the job starts,
so only what is written out can be translated: `services_containers` refuses, with a message
naming the field, expressions, host-port mappings (a pod has no port to map: `H:C` with H ≠ C
would lie), two services on one port, `volumes`, `options`, `credentials`, and a job
`container:` (running the steps inside a sibling container needs exec into it, which the
pool does not do). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conveyor.ci.errors import CIError
from conveyor.ci.kubepool_config import PodTemplate
from conveyor.workflow.model import Container, Job
from conveyor.workflow.run.argv import split_arguments

MANAGED_BY = "app.kubernetes.io/managed-by"
POOL_LABEL = "conveyor.dev/runner-pool"
TEMPLATE_LABEL = "conveyor.dev/runner-template"
UNIT_ANNOTATION = "conveyor.dev/unit"
TOKEN_KEY = "token"
WORK_DIR = "/tmp/conveyor-work"

_PORT = re.compile(r"^(?:(\d+):)?(\d+)(?:/(tcp|udp))?$")


class PodSpecError(CIError):
    """A job whose containers cannot become a pod spec; the message names the field."""


def secret_name(runner: str) -> str:
    return f"{runner}-token"


def runner_pod(
    template: PodTemplate,
    *,
    runner: str,
    pool_id: str,
    server: str,
    unit_id: int | None,
    sidecars: list[dict[str, Any]],
) -> dict[str, Any]:
    """The pod of runner `runner` (its name too), for the job of `unit_id` (None: a warm pod,
    any job of its labels and scope); a job's pod takes that job only (`--unit`), since its
    sidecars are that job's services."""
    args = ["--server", server, "--ephemeral", "--work", WORK_DIR]
    if unit_id is not None:
        args += ["--unit", str(unit_id)]
    if sidecars:
        args.append("--sidecar-services")
    agent: dict[str, Any] = {
        "name": "runner",
        "image": template.image,
        "command": ["conveyor", "runner"],
        "args": args,
        "env": [
            {
                "name": "CONVEYOR_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret_name(runner), "key": TOKEN_KEY}},
            }
        ],
    }
    if template.resources:
        agent["resources"] = dict(template.resources)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "containers": [agent, *sidecars],
    }
    if template.node_selector:
        spec["nodeSelector"] = dict(template.node_selector)
    if template.service_account:
        spec["serviceAccountName"] = template.service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": runner,
            "namespace": template.namespace,
            "labels": pool_labels(pool_id, template.name),
            "annotations": {} if unit_id is None else {UNIT_ANNOTATION: str(unit_id)},
        },
        "spec": spec,
    }


def pool_labels(pool_id: str, template: str) -> dict[str, str]:
    return {MANAGED_BY: "conveyor", POOL_LABEL: pool_id, TEMPLATE_LABEL: template}


def token_secret(template: PodTemplate, *, runner: str, pool_id: str, token: str) -> dict[str, Any]:
    """The Secret holding the runner's credential (owner-referenced to its pod afterwards)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(runner),
            "namespace": template.namespace,
            "labels": pool_labels(pool_id, template.name),
        },
        "type": "Opaque",
        "stringData": {TOKEN_KEY: token},
    }


def owner_reference(pod_name: str, uid: str) -> dict[str, Any]:
    """What makes the garbage collector delete a Secret with its pod."""
    return {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": uid}


def services_containers(job: Job) -> list[dict[str, Any]]:
    """The job's `services:` as containers of the runner pod (see the module docstring)."""
    where = f"jobs.{job.id}"
    if job.container is not None:
        raise PodSpecError(
            f"{where}.container: the Kubernetes runner pool cannot run steps inside a job "
            "container; drop `container:` (use the pod template's image) or run this job on "
            "another runner"
        )
    if job.services_template is not None:
        raise PodSpecError(f"{where}.services: {_EXPRESSION}")
    out: list[dict[str, Any]] = []
    ports: dict[int, str] = {}
    for key, service in job.services.items():
        container = _service(f"{where}.services.{key}", key, service)
        for port in container.get("ports", []):
            number = port["containerPort"]
            if number in ports:
                raise PodSpecError(
                    f"{where}.services: {ports[number]} and {key} both listen on port {number}; "
                    "in one pod they share localhost, so two services cannot use one port"
                )
            ports[number] = key
        out.append(container)
    return out


_EXPRESSION = (
    "the pod is made before the job starts, so expressions (${{ }}) cannot be evaluated "
    "here; write the value out or run this job on another runner"
)


def _service(where: str, key: str, service: Container) -> dict[str, Any]:
    if service.template is not None or _has_expression(service):
        raise PodSpecError(f"{where}: {_EXPRESSION}")
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
    container: dict[str, Any] = {"name": _container_name(key), "image": str(service.image)}
    if service.env:
        container["env"] = [{"name": k, "value": str(v)} for k, v in service.env.items()]
    if service.ports:
        container["ports"] = [_port(f"{where}.ports", str(p)) for p in service.ports]
    if service.entrypoint:
        container["command"] = [str(service.entrypoint)]
    if service.command:
        container["args"] = split_arguments(str(service.command))
    return container


def _port(where: str, text: str) -> dict[str, Any]:
    found = _PORT.match(text.strip())
    if found is None:
        raise PodSpecError(f"{where}: {text!r} is not PORT, PORT:PORT or PORT/tcp")
    host, port, proto = found.groups()
    if host is not None and host != port:
        raise PodSpecError(
            f"{where}: {text!r} maps host port {host} to {port}; in a pod the service is on "
            f"localhost:{port} and nothing can map it elsewhere: write {port}"
        )
    return {"containerPort": int(port), "protocol": (proto or "tcp").upper()}


def _container_name(key: str) -> str:
    """`svc-<key>` as a DNS-1123 label (lowercase, '-' for anything else, ≤ 63)."""
    cleaned = re.sub(r"[^a-z0-9-]", "-", key.lower()).strip("-")
    return f"svc-{cleaned}"[:63].rstrip("-")


def _has_expression(service: Container) -> bool:
    values: list[object] = [
        service.image,
        service.entrypoint,
        service.command,
        *service.ports,
        *service.env.values(),
        *service.env.keys(),
    ]
    return any(_expression_in(v) for v in values)


def _expression_in(value: object) -> bool:
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, Mapping):
        return any(_expression_in(k) or _expression_in(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_expression_in(v) for v in value)
    return False
