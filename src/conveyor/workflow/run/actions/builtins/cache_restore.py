"""Built-in `actions/cache/restore`: restore a cache by `key` and `restore-keys`.

Inputs: `path`, `key`, `restore-keys`, `fail-on-cache-miss`, `lookup-only`. Outputs:
`cache-hit` ("true" only for an exact `key` match), `cache-primary-key`,
`cache-matched-key`. Lookup rules and scoping: `cache_store`. Also used by `actions/cache`.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.builtins.cache_store import (
    CacheRefused,
    CacheStore,
    scopes,
    unpack,
    version,
)


def paths(call: BuiltinCall) -> list[str]:
    listed = [line.strip() for line in call.inputs.get("path", "").splitlines() if line.strip()]
    if not listed:
        raise ConveyorError("Input required and not supplied: path")
    return listed


def github(call: BuiltinCall) -> dict[str, object]:
    value = call.jr.state.contexts.get("github")
    return dict(value) if isinstance(value, dict) else {}


def ref_scopes(call: BuiltinCall) -> list[str]:
    gh = github(call)
    event = gh.get("event")
    repo = event.get("repository") if isinstance(event, dict) else None
    default = str(repo.get("default_branch", "")) if isinstance(repo, dict) else ""
    return scopes(
        str(gh.get("ref", "")),
        default,
        str(gh.get("base_ref", "") or ""),
        repository=str(gh.get("repository", "")),
    )


def roots(call: BuiltinCall) -> list[Path]:
    """The job's own directories: the only places a cached absolute path may be."""
    dirs = call.jr.setup.dirs
    return [dirs.workspace, dirs.home, dirs.temp, dirs.tool_cache]


async def restore(call: BuiltinCall) -> tuple[dict[str, str], bool]:
    """Restore; returns the outputs and whether the primary key matched exactly."""
    key = call.get("key")
    if not key:
        raise ConveyorError("Input required and not supplied: key")
    restore_keys = [k.strip() for k in call.inputs.get("restore-keys", "").splitlines()]
    store = CacheStore()
    found = store.find([key, *filter(None, restore_keys)], version(paths(call)), ref_scopes(call))
    outputs = {"cache-primary-key": key, "cache-hit": "false", "cache-matched-key": ""}
    if found is None:
        if call.flag("fail-on-cache-miss"):
            raise ConveyorError(
                f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. "
                f"Input key: {key}"
            )
        call.jr.write(f"Cache not found for input keys: {', '.join([key, *restore_keys])}")
        return outputs, False
    exact = found.key == key
    outputs |= {"cache-hit": "true" if exact else "false", "cache-matched-key": found.key}
    if call.flag("lookup-only"):
        call.jr.write(f"Cache found and can be restored from key: {found.key}")
        return outputs, exact
    try:
        unpack(store.path(found), call.jr.setup.dirs.workspace, roots(call))
    except CacheRefused as exc:
        raise ConveyorError(f"Cache not restored from key {found.key}: {exc}") from None
    call.jr.write(f"Cache restored from key: {found.key}")
    return outputs, exact


async def run(call: BuiltinCall) -> dict[str, str]:
    outputs, _ = await restore(call)
    return outputs
