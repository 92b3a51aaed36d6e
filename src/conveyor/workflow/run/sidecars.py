"""A job's containers that already run beside it: containers of the Kubernetes runner pod the
job runs in (`conveyor.ci.kubepool` puts them into the pod spec; the agent then runs with
`--sidecar-services` and, for a job container, `--sibling-job-container`:
`platform.Platform.sidecar_services` and `job_container_control`).

Nothing is started here: the pod's containers share one network namespace, so the job
reaches each service on `localhost:<port>`, and `job.services.<id>.ports` maps each port to
itself (as GitHub's container jobs on Kubernetes see them). A job container is the pod's
sibling running the executor loop: `start` makes its `runners.sibling.SiblingRunner`, which
`job.py` then uses for every step, and `stop` leaves its end to that runner's `cleanup`.
Called by `job.py` in place of `containers.JobContainers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from conveyor.runners.base import Runner
from conveyor.runners.sibling import SiblingRunner
from conveyor.workflow.expr import Value
from conveyor.workflow.plan.containers import ContainerSpec


class SidecarServices:
    """The `job.services` (and `job.container`) contexts of the pod's other containers."""

    def __init__(
        self,
        services: Mapping[str, ContainerSpec],
        *,
        container: ContainerSpec | None = None,
        control: Path | None = None,
    ) -> None:
        self.services = dict(services)
        self.container = container  # the evaluated `container:` run by the pod's sibling
        self.control = control  # the control directory shared with the sibling's loop
        self.runner: Runner | None = None  # None: the steps stay on the runner the job has

    async def start(self, *, host_path: str) -> dict[str, Value]:
        """The `job` context entries; with a job container, its runner (`host_path`: the
        agent's PATH, replaced by the standard PATH in the container)."""
        context: dict[str, Value] = {}
        if self.container is not None and self.control is not None:
            self.runner = SiblingRunner(
                self.control,
                image=self.container.image,
                env=self.container.env,
                host_path=host_path,
            )
            await self.runner.wait_ready()
            context["container"] = {"id": "", "network": ""}
        if self.services:
            context["services"] = {
                key: {"id": "", "network": "", "ports": _ports(spec)}
                for key, spec in self.services.items()
            }
        return context

    async def stop(self) -> None:
        """Nothing to stop here: the job's runner stops the job container, the pod ends
        with the job."""


def _ports(spec: ContainerSpec) -> dict[str, Value]:
    """`6379`, `6379:6379` and `6379/tcp` all say: localhost:6379."""
    out: dict[str, Value] = {}
    for text in spec.ports:
        inner = text.rsplit(":", 1)[-1].split("/")[0].strip()
        if inner:
            out[inner] = inner
    return out
