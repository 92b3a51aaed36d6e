"""`conveyor.yaml` as far as the reconciler needs it: targets, state and cache locations.

```yaml
targets:                      # a list, or a mapping name -> options
  - {name: local, type: podman}
  - {name: staging, type: memory, readyAfter: 2s}
  - {name: in-cluster, type: kubernetes}
state: .conveyor/state.db     # an SQLite file, or postgresql://… (SQLAlchemy URL)
cache: .conveyor/cache        # Git mirrors and exports
resource.customizations.health.<group>_<Kind>: |   # custom health, as in Argo CD's
  hs = {} ... return hs                            # argocd-cm (see `healthconfig`)
```
With no config file at all, one target named `local` of type `podman` exists (issue 6:
the embedded default). Parsing only: `conveyor.app` instantiates the targets. Pure data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conveyor.core.location import Location
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.health import HealthScript
from conveyor.reconcile.healthconfig import health_scripts
from conveyor.reconcile.yamlnodes import Document, load_documents

TARGET_TYPES = ("podman", "memory", "kubernetes")


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetConfig:
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    targets: tuple[TargetConfig, ...]
    state: str
    cache: Path
    file: str = ""
    health: tuple[HealthScript, ...] = ()


def default_config(base: Path | None = None) -> Config:
    root = base or Path.cwd()
    state = os.environ.get("CONVEYOR_STATE") or str(root / ".conveyor" / "state.db")
    return Config(
        targets=(TargetConfig(name="local", type="podman"),),
        state=state,
        cache=root / ".conveyor" / "cache",
    )


def load_config(path: Path | None) -> Config:
    """The config at `path`, or the default when `path` is None."""
    if path is None:
        return default_config()
    try:
        docs = list(load_documents(path.read_text(), str(path)))
    except (OSError, yaml.YAMLError) as exc:
        raise ApplicationInvalid(
            f"cannot read config: {exc}",
            location=Location(file=str(path)),
            hint="check the file exists and is valid YAML",
        ) from exc
    doc = docs[0] if docs else Document(data={}, file=str(path))
    data = doc.data
    if not isinstance(data, dict) or len(docs) > 1:
        raise ApplicationInvalid(
            "config must be a mapping",
            location=Location(file=str(path)),
            hint="see `conveyor reconcile --help`",
        )
    base = path.parent.resolve()
    defaults = default_config(base)
    raw_targets = data.get("targets") or [{"name": "local", "type": "podman"}]
    if isinstance(raw_targets, dict):
        raw_targets = [{"name": k, **(v or {})} for k, v in raw_targets.items()]
    targets = tuple(_target(item, str(path)) for item in raw_targets)
    state = str(data.get("state") or defaults.state)
    if "://" not in state:
        state = str((base / state).resolve())
    cache = base / str(data["cache"]) if data.get("cache") else defaults.cache
    return Config(
        targets=targets, state=state, cache=cache, file=str(path), health=health_scripts(doc)
    )


def _target(item: Any, file: str) -> TargetConfig:
    if not isinstance(item, dict) or not item.get("name"):
        raise ApplicationInvalid(
            "each target needs a name",
            location=Location(file=file),
            hint="targets: [{name: local, type: podman}]",
        )
    kind = str(item.get("type") or "podman")
    if kind not in TARGET_TYPES:
        raise ApplicationInvalid(
            f"target {item['name']!r}: unknown type {kind!r}",
            location=Location(file=file),
            hint=f"use one of {', '.join(TARGET_TYPES)}",
        )
    options = {k: v for k, v in item.items() if k not in ("name", "type")}
    return TargetConfig(name=str(item["name"]), type=kind, options=options)
