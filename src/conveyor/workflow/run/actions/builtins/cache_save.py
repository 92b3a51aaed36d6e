"""Built-in `actions/cache/save`: save `path` under `key` now (immutable: an existing key
is kept and a warning says so). Also used by the post step of `actions/cache`."""

from __future__ import annotations

import uuid

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.cache_restore import github, paths, roots
from conveyor.workflow.run.actions.builtins.cache_store import (
    CacheRefused,
    CacheStore,
    expand,
    pack,
    scope_of,
    version,
)


def save(call: BuiltinCall, key: str) -> bool:
    listed = paths(call)
    workspace = call.jr.setup.dirs.workspace
    found = expand(listed, workspace)
    if not found:
        call.jr.warning(
            "Path Validation Error: Path(s) specified in the action for caching do(es) not "
            "exist, hence no cache is being saved."
        )
        return True
    gh = github(call)
    scope = scope_of(str(gh.get("repository", "")), str(gh.get("ref", "")))
    store = CacheStore()
    archive = store.root / f".{uuid.uuid4().hex}.part"
    try:
        pack(found, workspace, archive, roots(call))
    except CacheRefused as exc:
        archive.unlink(missing_ok=True)
        raise ConveyorError(f"Cache not saved with key {key}: {exc}") from None
    if store.save(key, version(listed), scope, archive):
        call.jr.write(f"Cache saved with key: {key}")
    else:
        call.jr.warning(
            f"Failed to save: Unable to reserve cache with key {key}, another job "
            "may be creating this cache."
        )
    return True


async def run(call: BuiltinCall) -> dict[str, str]:
    key = call.get("key")
    if not key:
        raise ConveyorError("Input required and not supplied: key")
    save(call, key)
    return {}
