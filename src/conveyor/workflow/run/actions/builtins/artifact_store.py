"""Artifacts of one run, for the built-in `upload-artifact` / `download-artifact` (v4).

Each artifact is a directory `<run dir>/artifacts/<name>/files/` plus `meta.json` (id,
size, digest, creation time, retention days). v4 rules: artifacts are immutable and their
names unique within the run (`overwrite: true` replaces one); any job of the same run may
download them; an artifact past its retention period is gone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

MAX_RETENTION_DAYS = 90


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    name: str
    id: int
    size: int
    digest: str
    created: float
    retention_days: int
    files: Path

    @property
    def expired(self) -> bool:
        return time.time() > self.created + self.retention_days * 86400


def root(run_dir: Path) -> Path:
    return run_dir / "artifacts"


def read(folder: Path) -> Artifact | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (FileNotFoundError, ValueError):
        return None  # being written, or not an artifact
    return Artifact(
        name=folder.name,
        id=int(meta["id"]),
        size=int(meta["size"]),
        digest=str(meta["digest"]),
        created=float(meta["created"]),
        retention_days=int(meta["retention_days"]),
        files=folder / "files",
    )


def listing(run_dir: Path) -> list[Artifact]:
    base = root(run_dir)
    if not base.is_dir():
        return []
    found = (read(folder) for folder in sorted(base.iterdir()) if folder.is_dir())
    return [a for a in found if a is not None and not a.expired]
