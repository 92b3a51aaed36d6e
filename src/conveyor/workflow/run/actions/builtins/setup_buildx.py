"""Built-in `docker/setup-buildx-action`: nothing to set up (Podman builds with Buildah).

Succeeds with the outputs the real action sets, describing a local `docker-container`-less
builder: `name`, `driver`, `platforms`, `nodes`, `endpoint`, `status`, `flags`.
"""

from __future__ import annotations

import json
import platform

from conveyor.workflow.run.actions.builtins import BuiltinCall

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7"}


async def run(call: BuiltinCall) -> dict[str, str]:
    arch = _ARCH.get(platform.machine(), platform.machine())
    name = call.get("name", "conveyor-podman")
    call.jr.write(f"Using Podman (Buildah) as the builder '{name}'; buildx is not needed")
    node = {"name": f"{name}0", "endpoint": "podman", "status": "running", "platforms": ""}
    return {
        "name": name,
        "driver": "podman",
        "platforms": f"linux/{arch}",
        "nodes": json.dumps([node]),
        "endpoint": "podman",
        "status": "running",
        "flags": "",
    }
