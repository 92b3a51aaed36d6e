"""Built-in `actions/download-artifact` (v4): fetch artifacts of the same run.

Inputs: `name` (one artifact, extracted into `path`), `pattern` (glob over names; with
neither, every artifact), `path` (default: the workspace), `merge-multiple` (several
artifacts into the same directory instead of `path/<name>/`), `run-id` / `github-token`
(only the current run exists here). Output: `download-path`.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.artifact_store import listing


async def run(call: BuiltinCall) -> dict[str, str]:
    workspace = call.jr.setup.dirs.workspace
    given = call.get("path")
    dest = Path(given).expanduser() if given else workspace
    if not dest.is_absolute():
        dest = workspace / dest
    if call.get("run-id") and call.get("run-id") != str(call.jr.setup.session.identity.run_id):
        raise ConveyorError("artifacts of other workflow runs are not available offline")
    artifacts = listing(call.jr.setup.session.options.run_dir)
    name = call.get("name")
    if name:
        chosen = [a for a in artifacts if a.name == name]
        if not chosen:
            raise ConveyorError(
                f"Unable to download artifact(s): Artifact not found for name: {name}"
            )
        shutil.copytree(chosen[0].files, dest, dirs_exist_ok=True)
        call.jr.write(f"Artifact {name} was downloaded to {dest}")
        return {"download-path": str(dest)}
    pattern = call.get("pattern")
    chosen = [a for a in artifacts if not pattern or fnmatch.fnmatchcase(a.name, pattern)]
    merge = call.flag("merge-multiple")
    for artifact in chosen:
        target = dest if merge else dest / artifact.name
        shutil.copytree(artifact.files, target, dirs_exist_ok=True)
        call.jr.write(f"Artifact {artifact.name} was downloaded to {target}")
    call.jr.write(f"Total of {len(chosen)} artifact(s) downloaded")
    return {"download-path": str(dest)}
