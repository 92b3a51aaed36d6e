"""Checks shared by the translations of a job's containers into a runner pod's spec
(`ci.kubepool_job` for services, `ci.kubepool_container` for the job container): the
error, ports, and whether a value still holds an expression. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conveyor.ci.errors import CIError

_PORT = re.compile(r"^(?:(\d+):)?(\d+)(?:/(tcp|udp))?$")

EXPRESSION = (
    "the pod is made before the job starts, so expressions (${{ }}) cannot be evaluated "
    "here; write the value out or run this job on another runner"
)


class PodSpecError(CIError):
    """A job whose containers cannot become a pod spec; the message names the field."""


def container_port(where: str, text: str) -> dict[str, Any]:
    """`PORT`, `PORT:PORT` or `PORT/udp` as a containerPort; a host port that differs is
    refused (in a pod the container is on localhost:PORT, nothing can map it elsewhere)."""
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


def dns_label(prefix: str, key: str) -> str:
    """`<prefix>-<key>` as a DNS-1123 label (lowercase, '-' for anything else, ≤ 63)."""
    cleaned = re.sub(r"[^a-z0-9-]", "-", key.lower()).strip("-")
    return f"{prefix}-{cleaned}"[:63].rstrip("-")


def has_expression(*values: object) -> bool:
    """True when a string in `values` (nested in mappings and sequences too) has `${{`."""
    return any(_expression_in(v) for v in values)


def _expression_in(value: object) -> bool:
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, Mapping):
        return any(_expression_in(k) or _expression_in(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_expression_in(v) for v in value)
    return False
