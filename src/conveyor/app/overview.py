"""What runs where: the facts `conveyor status`, `conveyor demo`, the end-to-end test and
the benchmark read about the demo's environments.

For each environment: the reconciler's view of its Application (sync, health, revision;
from the reconciler's store, the same file `conveyor app` reads), the images of the
containers the Podman target runs in its namespace (`podman ps`, read-only; the images of
the newest container's spec apart from those of older specs a rollout still drains), and the
version its URL serves right now (`GET <url>/version`). Each fact that cannot be read is
reported as such, never guessed. Called by `cmd_status` and `cmd_demo`.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.app.platform import PlatformInfo

_MANAGED = "label=conveyor.dev/managed-by=conveyor-podman-target"
_NAMESPACE = "conveyor.dev/namespace"
_SPEC_HASH = "conveyor.dev/spec-hash"


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvView:
    env: str
    app: str
    url: str
    sync: str
    health: str
    revision: str
    message: str
    images: tuple[str, ...]  # of the current spec (the newest container's)
    draining: tuple[str, ...]  # of older specs whose containers a rollout is still removing
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


def images_by_spec(rows: list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The images of the containers of the newest container's spec (`conveyor.dev/spec-hash`),
    and the other images still running: those of older specs while a rollout drains them."""
    if not rows:
        return (), ()
    newest = max(rows, key=lambda r: int(r.get("Created") or 0))
    spec = _spec_hash(newest)
    current = {str(r.get("Image", "")) for r in rows if _spec_hash(r) == spec}
    others = {str(r.get("Image", "")) for r in rows} - current
    return tuple(sorted(current)), tuple(sorted(others))


def image_text(images: Sequence[str], draining: Sequence[str]) -> str:
    """An environment's images for one line: the current ones, then those still draining."""
    text = ", ".join(images) or "-"
    return f"{text} (draining {', '.join(draining)})" if draining else text


def _spec_hash(row: Any) -> str:
    return str((row.get("Labels") or {}).get(_SPEC_HASH, ""))


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
        current, draining = images_by_spec(rows)
        views.append(
            EnvView(
                env=env,
                app=app,
                url=url,
                sync=str(status.get("sync", {}).get("status", "Unknown")),
                health=str(status.get("health", {}).get("status", "Unknown")),
                revision=str(status.get("sync", {}).get("revision", ""))[:12],
                message="" if ready.get("status") == "True" else str(ready.get("message", "")),
                images=current,
                draining=draining,
                running=sum(1 for r in rows if r.get("State") == "running"),
                served=served_version(url),
            )
        )
    return views
