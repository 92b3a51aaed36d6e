"""How the memory target writes objects, as an API server would (pure; issue 14).

* `stored`: the object as the API server keeps it: no `status`, a Secret's `stringData`
  folded into base64 `data`;
* `merge`: `kubectl apply`'s three-way merge for plain JSON: what the new config says
  wins, what the previous config said and the new one no longer says goes, and what
  neither said (a field someone else set, a defaulted field) stays. Lists are replaced
  whole (strategic-merge keys are not modelled). `Replace=true` skips the merge;
* `with_defaults`: the spec fields the API server defaults (`memory_status.DEFAULTS`);
* `owned_by` / `disown`: `metadata.ownerReferences`, for delete propagation.
Called only by `conveyor.targets.memory`.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from conveyor.targets.base import Manifest, ObjectRef
from conveyor.targets.memory_status import DEFAULTS


def stored(obj: Manifest) -> Manifest:
    out: Manifest = clone(obj)
    out.pop("status", None)
    if out.get("kind") == "Secret" and isinstance(out.get("stringData"), dict):
        # the API server folds stringData into base64 data and never returns stringData
        data = out.setdefault("data", {})
        for key, value in out.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    return out


def merge(live: Any, config: Any, last: Any) -> Any:
    """The live value after applying `config` over `live`, `last` being the config the
    previous apply wrote (None when nobody applied before)."""
    if not isinstance(live, dict) or not isinstance(config, dict):
        return clone(config)
    previous = last if isinstance(last, dict) else {}
    out = {k: clone(v) for k, v in live.items() if k not in config and k not in previous}
    for key, value in config.items():
        out[key] = merge(live[key], value, previous.get(key)) if key in live else clone(value)
    return out


def with_defaults(ref: ObjectRef, obj: Manifest) -> Manifest:
    applied: Manifest = clone(obj)
    for rule in DEFAULTS:
        if rule.matches(ref):
            for pointer in rule.pointers:
                _set_default(applied, pointer.strip("/").split("/"), rule.default)
    return applied


def owned_by(obj: Manifest, uid: str | None) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or [] if uid else []
    return any(isinstance(r, dict) and r.get("uid") == uid for r in refs)


def disown(obj: Manifest, uid: str | None) -> Manifest:
    """`obj` without its owner reference to `uid` (what orphaning does to a dependent)."""
    out: Manifest = clone(obj)
    meta = out["metadata"]
    meta["ownerReferences"] = [r for r in meta["ownerReferences"] if r.get("uid") != uid]
    if not meta["ownerReferences"]:
        del meta["ownerReferences"]
    return out


def _set_default(node: Any, parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        for item in node if isinstance(node, list) else ():
            _set_default(item, rest, value)
        return
    if not isinstance(node, dict):
        return
    if not rest:
        node.setdefault(head, clone(value))
    elif head in node:
        _set_default(node[head], rest, value)


def clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def rfc3339(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
