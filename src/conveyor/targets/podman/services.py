"""Which host ports a Service listens on and where its traffic goes (pure).

`exposed_ports` decides the listening ports per Service type (NodePort on `nodePort`, or a
stable port derived from the Service when none is given; LoadBalancer and Services
annotated `conveyor.dev/expose: "true"` on their `port`, as k3s' service load balancer
does); `resolve_port` turns a `targetPort` (number or container port name) into a number
for one replica. Called by `conveyor.targets.podman.endpoints` (routes) and `.target`
(Service status).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from conveyor.targets.podman import names
from conveyor.targets.podman.names import CONTAINER_LABEL


def resolve_port(target_port: object, labels: Mapping[str, str]) -> int:
    """A Service `targetPort` (number or container port name) for one replica."""
    if isinstance(target_port, int) or str(target_port).isdigit():
        return int(str(target_port))
    container = json.loads(labels.get(CONTAINER_LABEL, "{}") or "{}")
    for port in container.get("ports") or []:
        if port.get("name") == target_port:
            return int(port["containerPort"])
    return 0


def exposed_ports(service: Mapping[str, object]) -> list[tuple[int, object]]:
    """(listen port, target port) pairs of a Service served on the host.

    `NodePort` listens on `nodePort` (or a stable port derived from the Service's identity
    when none is given); `LoadBalancer` and Services annotated `conveyor.dev/expose: "true"`
    listen on their `port`, as k3s' service load balancer does.
    """
    spec = service.get("spec") or {}
    meta = service.get("metadata") or {}
    assert isinstance(spec, Mapping) and isinstance(meta, Mapping)
    kind = spec.get("type", "ClusterIP")
    annotated = str((meta.get("annotations") or {}).get(EXPOSE_ANNOTATION, "")) == "true"
    if kind not in ("NodePort", "LoadBalancer") and not annotated:
        return []
    out: list[tuple[int, object]] = []
    for port in spec.get("ports") or []:
        target = port.get("targetPort", port.get("port"))
        if kind == "NodePort":
            listen = int(port.get("nodePort") or allocated_node_port(meta, port))
        else:
            listen = int(port["port"])
        out.append((listen, target))
    return out


EXPOSE_ANNOTATION = "conveyor.dev/expose"


def allocated_node_port(meta: Mapping[str, object], port: Mapping[str, object]) -> int:
    key = f"{meta.get('namespace') or 'default'}/{meta.get('name')}/{port.get('port')}"
    return 30000 + int(names.spec_hash(key), 16) % 2768
