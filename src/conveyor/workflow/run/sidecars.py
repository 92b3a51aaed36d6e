"""A job's services that already run beside it: containers of the Kubernetes runner pod the
job runs in (`conveyor.ci.kubepool` puts them into the pod spec; the agent then runs with
`--sidecar-services`, `platform.Platform.sidecar_services`).

Nothing is started or stopped here: the pod's containers share one network namespace, so
the job reaches each service on `localhost:<port>`, and `job.services.<id>.ports` maps each
port to itself (as GitHub's container jobs on Kubernetes see them). Called by `job.py` in
place of `containers.JobContainers`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from conveyor.runners.base import Runner
from conveyor.workflow.expr import Value
from conveyor.workflow.plan.containers import ContainerSpec


class SidecarServices:
    """The `job.services` context of services that run as the pod's other containers."""

    runner: Runner | None = None  # the steps stay on the runner the job has

    def __init__(self, services: Mapping[str, ContainerSpec]) -> None:
        self.services = dict(services)

    async def start(self, *, host_path: str) -> dict[str, Value]:
        """The `job` context entries; `host_path` is unused (nothing is started)."""
        del host_path
        if not self.services:
            return {}
        services: dict[str, Value] = {
            key: {"id": "", "network": "", "ports": _ports(spec)}
            for key, spec in self.services.items()
        }
        return {"services": services}

    async def stop(self) -> None:
        """Nothing to stop: the pod ends with the job."""


def _ports(spec: ContainerSpec) -> dict[str, Value]:
    """`6379`, `6379:6379` and `6379/tcp` all say: localhost:6379."""
    out: dict[str, Value] = {}
    for text in spec.ports:
        inner = text.rsplit(":", 1)[-1].split("/")[0].strip()
        if inner:
            out[inner] = inner
    return out
