"""Which runner jobs use: `--runner host|podman` and `-P label=image` (as act's `-P`).

Set once by `conveyor.app.cmd_run` before the run starts (`choose`); read by `job.py` for
each leg. With `podman` every job without `container:` runs in a container of the image
mapped to one of its `runs-on` labels (`*` maps any label), else the busybox base image.
`sidecar_services` (set by `conveyor.ci.agent` with `--sidecar-services`, in a Kubernetes
runner pod whose other containers are the job's services): services are not started, only
reached on localhost (`sidecars.py`). `job_container_control` (set by the agent with
`--sibling-job-container`): the job container is the pod's sibling, driven through this
control directory (`runners.sibling`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

RUNNERS = ("host", "podman")


@dataclass(frozen=True, slots=True, kw_only=True)
class Platform:
    runner: str = "host"
    images: Mapping[str, str] = field(default_factory=dict)
    sidecar_services: bool = False
    job_container_control: str = ""

    def image_for(self, labels: list[str]) -> str | None:
        """The mapped image for the first label that has one (None: unmapped)."""
        for label in labels:
            if self.images.get(label):
                return self.images[label]
        return self.images.get("*") or None


_CURRENT: list[Platform] = [Platform()]


def choose(platform: Platform) -> None:
    _CURRENT[0] = platform


def current() -> Platform:
    return _CURRENT[0]
