"""The local OCI registry of `conveyor up`: Debian's `docker-registry` (distribution 2.8)
on 127.0.0.1 with a generated config and its data under the platform's state directory.

`registry_config(data_dir, address)` renders the config (pure); `registry_service(...)`
writes it and returns the `ServiceSpec` the supervisor runs (ready when `GET /v2/` answers,
about 40 ms here). The registry listens on loopback only and has no auth: images stay on
this machine, and Podman reaches it without TLS through Conveyor's registries.conf
(`conveyor.clients.podman_host`). Called by `conveyor.app.cmd_up`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from conveyor.app.supervisor import Readiness, ServiceSpec
from conveyor.core.errors import UserError

BINARY = "docker-registry"


def registry_config(data_dir: Path, address: str) -> str:
    """The registry's config.yml: filesystem storage, deletes enabled, loopback only."""
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "http": {"addr": address, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "health": {"storagedriver": {"enabled": False}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def registry_service(state_dir: Path, address: str) -> ServiceSpec:
    """Write `state_dir/registry/config.yml` and describe the child to run."""
    binary = shutil.which(BINARY)
    if binary is None:
        raise UserError(
            f"{BINARY} is not installed",
            hint="run `make install` (installs Debian's docker-registry package)",
        )
    root = state_dir / "registry"
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(registry_config(data, address))
    return ServiceSpec(
        name="registry",
        argv=(binary, "serve", str(config)),
        log=state_dir / "logs" / "registry.log",
        ready=Readiness(url=f"http://{address}/v2/", timeout=20.0),
        stop_grace=5.0,
    )
