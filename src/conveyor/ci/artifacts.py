"""A run's artifacts on the runner's side: the archives the server keeps, unpacked where the
engine's built-in download-artifact reads them, and the job's new ones packed to be sent.

Used by `ci.executor` for each unit it runs: jobs of one run may run on different runners,
so what one job uploads travels through the server (`Reporter.artifact` /
`Reporter.fetch_artifact`) as a tar.gz per artifact.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from conveyor.clients.archives import extract_all


class ArtifactSource(Protocol):
    """Where the run's artifacts come from (the executor's `Reporter`)."""

    async def fetch_artifact(self, name: str) -> bytes | None: ...


async def fetch_artifacts(
    assignment: Mapping[str, Any], reporter: ArtifactSource, run_dir: Path
) -> dict[str, str]:
    """Unpack the run's artifacts (uploaded by jobs that ran before, maybe elsewhere) where
    the built-in download-artifact reads them; name → the meta.json written."""
    fetched: dict[str, str] = {}
    for name in assignment.get("artifacts") or []:
        data = await reporter.fetch_artifact(str(name))
        if data is not None:
            fetched[str(name)] = await asyncio.to_thread(
                unpack_artifact, run_dir, str(name), data, len(fetched) + 1
            )
    return fetched


def unpack_artifact(run_dir: Path, name: str, data: bytes, number: int) -> str:
    """Write `<run dir>/artifacts/<name>/files` and a `meta.json` as upload-artifact does."""

    folder = run_dir / "artifacts" / name
    files = folder / "files"
    files.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        extract_all(archive, files)
    size = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
    meta = json.dumps(
        {
            "id": number,
            "size": size,
            "digest": hashlib.sha256(data).hexdigest(),
            "created": time.time(),
            "retention_days": 90,
        }
    )
    (folder / "meta.json").write_text(meta)
    return meta


def pack_artifacts(
    run_dir: Path, fetched: Mapping[str, str] | None = None
) -> list[tuple[str, bytes]]:
    """The run's artifacts (`<run dir>/artifacts/<name>/files`, written by the built-in
    upload-artifact) as tar.gz archives, to be kept by the server after the runner is gone;
    those `fetched` from the server before the job and left as they were are not sent back."""

    base = run_dir / "artifacts"
    packed: list[tuple[str, bytes]] = []
    if not base.is_dir():
        return packed
    for folder in sorted(base.iterdir()):
        files = folder / "files"
        meta = folder / "meta.json"
        if not meta.exists() or not files.is_dir():
            continue
        if fetched and fetched.get(folder.name) == meta.read_text():
            continue
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            archive.add(files, arcname=".")
        packed.append((folder.name, buffer.getvalue()))
    return packed
