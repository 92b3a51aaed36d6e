"""What the sync options ask of one sync: the app's `syncPolicy.syncOptions`, overridden
per object by its `argocd.argoproj.io/sync-options` annotation (Argo CD's rule: the
resource's option wins in either direction). Pure.

`SyncBehaviour.of(app)` is built once per sync operation by `sync.execute`; `apply_options`,
`force` and `prune_last` answer for one object; `keep_live` is `RespectIgnoreDifferences`:
the fields the app's `ignoreDifferences` select keep their live values when the object is
applied (Argo CD pre-patches the desired object with them; an object that does not exist
yet is applied as Git has it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from conveyor.reconcile import annotations as object_annotations
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.diff import IgnoreRule, clone
from conveyor.reconcile.paths import remove_jq, remove_pointer
from conveyor.targets.base import ApplyOptions, Manifest, ObjectRef, Propagation

_Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncBehaviour:
    app_options: tuple[tuple[str, str], ...] = ()
    ignores: tuple[IgnoreRule, ...] = ()

    @classmethod
    def of(cls, app: Application | None) -> SyncBehaviour:
        if app is None:
            return cls()
        pairs = (item.partition("=") for item in app.sync_policy.sync_options)
        return cls(
            app_options=tuple((k, v.lower()) for k, _, v in pairs),
            ignores=app.ignore_differences,
        )

    def _option(self, name: str, obj: Manifest | None = None) -> str:
        own = object_annotations.sync_options(obj).get(name)
        return own if own is not None else dict(self.app_options).get(name, "")

    @property
    def apply_out_of_sync_only(self) -> bool:
        return self._option("ApplyOutOfSyncOnly") == "true"

    @property
    def propagation(self) -> Propagation:
        return Propagation(self._option("PrunePropagationPolicy") or Propagation.FOREGROUND)

    def prune_last(self, live: Manifest | None) -> bool:
        return self._option("PruneLast", live) == "true"

    def apply_options(self, obj: Manifest) -> ApplyOptions:
        server_side = self._option("ServerSideApply", obj) == "true"
        return ApplyOptions(
            replace=self._option("Replace", obj) == "true",
            server_side=server_side,
            validate=self._option("Validate", obj) != "false",
            skip_dry_run=self._option("SkipDryRunOnMissingResource", obj) == "true",
            force_conflicts=server_side and self.force(obj),
        )

    def force(self, obj: Manifest) -> bool:
        return self._option("Force", obj) == "true"

    def keep_live(self, ref: ObjectRef, desired: Manifest, live: Manifest | None) -> Manifest:
        """`desired` with the ignored fields' live values, under RespectIgnoreDifferences."""
        rules = [r for r in self.ignores if r.matches(ref)]
        if live is None or not rules or self._option("RespectIgnoreDifferences", desired) != "true":
            return desired
        stripped = clone(live)
        for rule in rules:
            for pointer in rule.json_pointers:
                remove_pointer(stripped, pointer)
            for expression in rule.jq_paths:
                remove_jq(stripped, expression)
        out: Manifest = clone(desired)
        for path, value in _removed(live, stripped, ()):
            _put(out, path, value)
        return out


def _removed(before: Any, after: Any, path: _Path) -> Iterator[tuple[_Path, Any]]:
    """(path, value) of what `after` lost against `before` (a shortened list: all of it)."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            if key not in after:
                yield (*path, key), value
            else:
                yield from _removed(value, after[key], (*path, key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from _removed(b, a, (*path, index))
    elif before != after:
        yield path, before


def _put(doc: Any, path: _Path, value: Any) -> None:
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return
    last = path[-1] if path else None
    fits_dict = isinstance(node, dict) and isinstance(last, str)
    if fits_dict or (isinstance(node, list) and isinstance(last, int) and last < len(node)):
        node[last] = clone(value)
