"""The server's copy of runs' artifacts: one tar.gz per artifact under
`<data>/artifacts/<run id>/<name>.tar.gz`.

`ArtifactStore` is handed to `ci.runnerapi` (runners upload and download) and `ci.reruns`
(a re-run of failed jobs keeps the artifacts of the jobs it keeps); `CIService.artifacts`
lists them for the API. The runner's side is `ci.artifacts`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


class ArtifactStore:
    """Artifacts of runs on the server's disk."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "artifacts"

    def path(self, run_id: int, name: str) -> Path:
        safe = name.replace("/", "_").replace("\\", "_").lstrip(".") or "_"
        return self.root / str(run_id) / f"{safe}.tar.gz"

    def listing(self, run_id: int) -> list[dict[str, Any]]:
        """The run's artifacts: name and size of each archive (tar.gz)."""
        folder = self.root / str(run_id)
        if not folder.is_dir():
            return []
        return [
            {"name": p.name.removesuffix(".tar.gz"), "size": p.stat().st_size}
            for p in sorted(folder.glob("*.tar.gz"))
        ]

    def save(self, run_id: int, name: str, data: bytes) -> None:
        path = self.path(run_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def read(self, run_id: int, name: str) -> bytes | None:
        path = self.path(run_id, name)
        return path.read_bytes() if path.is_file() else None

    def copy(self, old_id: int, new_id: int) -> None:
        """A re-run starts with the artifacts of the attempt it re-runs."""
        old = self.root / str(old_id)
        if old.is_dir():
            shutil.copytree(old, self.root / str(new_id))
