"""Built-in `actions/upload-artifact` (v4): store files as a named artifact of the run.

Inputs: `name` (default `artifact`), `path` (lines; globs; `!` excludes), `if-no-files-found`
(`warn`|`error`|`ignore`), `retention-days` (1–90, default 90), `overwrite`,
`include-hidden-files`, `compression-level` (accepted). Files are stored relative to the
least common ancestor of the search paths, as the real action does. Outputs:
`artifact-id`, `artifact-url`, `artifact-digest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.artifact_store import MAX_RETENTION_DAYS, root
from conveyor.workflow.run.actions.builtins.cache_store import expand


def _files(matches: list[Path], hidden: bool) -> tuple[list[Path], Path]:
    files: list[Path] = []
    roots: list[str] = []
    for match in matches:
        if match.is_dir():
            roots.append(str(match))
            files.extend(p for p in sorted(match.rglob("*")) if p.is_file())
        elif match.is_file():
            roots.append(str(match.parent))
            files.append(match)
    base = Path(os.path.commonpath(roots)) if roots else Path()
    if not hidden:
        files = [
            f for f in files if not any(part.startswith(".") for part in f.relative_to(base).parts)
        ]
    return list(dict.fromkeys(files)), base


async def run(call: BuiltinCall) -> dict[str, str]:
    name = call.get("name", "artifact")
    if any(c in name for c in '":<>|*?\\/\r\n'):
        raise ConveyorError(f"The artifact name is not valid: {name}")
    patterns = [line.strip() for line in call.inputs.get("path", "").splitlines() if line.strip()]
    if not patterns:
        raise ConveyorError("Input required and not supplied: path")
    files, base = _files(
        expand(patterns, call.jr.setup.dirs.workspace), call.flag("include-hidden-files")
    )
    if not files:
        mode = call.get("if-no-files-found", "warn")
        message = (
            f"No files were found with the provided path: {', '.join(patterns)}. "
            "No artifacts will be uploaded."
        )
        if mode == "error":
            raise ConveyorError(message)
        if mode == "warn":
            call.jr.warning(message)
        return {}
    days = int(call.get("retention-days", str(MAX_RETENTION_DAYS)) or MAX_RETENTION_DAYS)
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ConveyorError(f"retention-days must be between 1 and {MAX_RETENTION_DAYS}")
    store = root(call.jr.setup.session.options.run_dir)
    store.mkdir(parents=True, exist_ok=True)
    folder = store / name
    if folder.exists():
        if not call.flag("overwrite"):
            raise ConveyorError(
                "Failed to CreateArtifact: Received non-retryable error: Failed request: "
                "(409) Conflict: an artifact with this name already exists on the workflow run"
            )
        shutil.rmtree(folder)
    staging = store / f".{name}.{os.getpid()}.{time.monotonic_ns()}"
    digest = hashlib.sha256()
    size = 0
    for file in files:
        rel = file.relative_to(base)
        target = staging / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
        data = file.read_bytes()
        digest.update(str(rel).encode() + b"\0" + data)
        size += len(data)
    artifact_id = time.time_ns() // 1000
    meta = {
        "id": artifact_id,
        "size": size,
        "digest": digest.hexdigest(),
        "created": time.time(),
        "retention_days": days,
    }
    (staging / "meta.json").write_text(json.dumps(meta))
    try:
        staging.rename(folder)
    except OSError as exc:  # another job created the same name meanwhile
        shutil.rmtree(staging, ignore_errors=True)
        raise ConveyorError(
            f"an artifact named {name!r} already exists on the workflow run"
        ) from exc
    call.jr.write(
        f"Artifact {name} has been successfully uploaded! Final size is {size} bytes. "
        f"Artifact ID is {artifact_id}"
    )
    return {
        "artifact-id": str(artifact_id),
        "artifact-url": f"file://{folder}",
        "artifact-digest": digest.hexdigest(),
    }
