"""What runs where: the facts `conveyor status`, `conveyor demo`, the end-to-end test and
the benchmark read about the demo's environments.

For each environment: the reconciler's view of its Application (sync, health, revision;
from the reconciler's store, the same file `conveyor app` reads), the images of the
containers the Podman target runs in its namespace (`podman ps`, read-only), and the
version its URL serves right now (`GET <url>/version`). Each fact that cannot be read is
reported as such, never guessed. Called by `cmd_status` and `cmd_demo`.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.app.platform import PlatformInfo

_MANAGED = "label=conveyor.dev/managed-by=conveyor-podman-target"
_NAMESPACE = "conveyor.dev/namespace"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvView:
    env: str
    app: str
    url: str
    sync: str
    health: str
    revision: str
    message: str
    images: tuple[str, ...]
    running: int
    served: str  # the body of GET /version, or "" when nothing answers


def served_version(url: str, timeout: float = 1.0) -> str:
    try:
        with urllib.request.urlopen(f"{url}/version", timeout=timeout) as response:
            return str(response.read().decode(errors="replace").strip())
    except (OSError, urllib.error.URLError, ValueError):
        return ""


def containers_by_namespace(podman_env: Mapping[str, str] | None = None) -> dict[str, list[Any]]:
    """Running containers of the Podman target, grouped by namespace (empty if unreadable)."""
    try:
        proc = subprocess.run(
            ["podman", "ps", "--filter", _MANAGED, "--format", "json"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            env=dict(podman_env) if podman_env else None,
        )
        rows = json.loads(proc.stdout or "[]") if proc.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        rows = []
    grouped: dict[str, list[Any]] = {}
    for row in rows or []:
        namespace = (row.get("Labels") or {}).get(_NAMESPACE, "")
        grouped.setdefault(namespace, []).append(row)
    return grouped


def app_statuses(info: PlatformInfo) -> dict[str, dict[str, Any]]:
    from conveyor.store import Store

    store = Store.open(info.state_db)
    try:
        return store.all_statuses()
    finally:
        store.close()


def environments(info: PlatformInfo) -> list[EnvView]:
    from pathlib import Path

    from conveyor.clients.podman_host import write_config

    statuses = app_statuses(info)
    podman_env = {**os.environ, **write_config(Path(info.state_dir) / "podman")}
    containers = containers_by_namespace(podman_env)
    views = []
    for env, url in info.environments.items():
        app = info.app_name(env)
        status = statuses.get(app, {})
        ready = (status.get("conditions") or [{}])[0]
        rows = containers.get(f"demo-{env}", [])
        views.append(
            EnvView(
                env=env,
                app=app,
                url=url,
                sync=str(status.get("sync", {}).get("status", "Unknown")),
                health=str(status.get("health", {}).get("status", "Unknown")),
                revision=str(status.get("sync", {}).get("revision", ""))[:12],
                message="" if ready.get("status") == "True" else str(ready.get("message", "")),
                images=tuple(sorted({str(r.get("Image", "")) for r in rows})),
                running=sum(1 for r in rows if r.get("State") == "running"),
                served=served_version(url),
            )
        )
    return views
