"""What `KubernetesTarget.events()` compares: each app's owned objects by resourceVersion.

`list_owned` records what it saw (`listed`), the target's own writes update it (`wrote`,
`removed`), and `changes` yields a `TargetEvent` for each object whose resourceVersion
moved, appeared or went since, outside those writes. Pure bookkeeping; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from conveyor.targets.base import EventKind, Manifest, ObjectRef, TargetEvent

#: ref → resourceVersion, per app.
Versions = dict[ObjectRef, str]


def _version(obj: Manifest) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Snapshot:
    def __init__(self) -> None:
        self._apps: dict[str, Versions] = {}

    def apps(self) -> list[str]:
        return list(self._apps)

    def of(self, app: str) -> Versions:
        return dict(self._apps.get(app, {}))

    def listed(self, app: str, objs: Iterable[Manifest]) -> None:
        self._apps[app] = {ObjectRef.of(o): _version(o) for o in objs}

    def wrote(self, live: Manifest, app: str | None) -> None:
        if app is not None:
            self._apps.setdefault(app, {})[ObjectRef.of(live)] = _version(live)

    def removed(self, ref: ObjectRef) -> None:
        for versions in self._apps.values():
            versions.pop(ref, None)

    def changes(self, app: str, before: Versions, now: Iterable[Manifest]) -> Iterator[TargetEvent]:
        seen = {ObjectRef.of(o): _version(o) for o in now}
        for ref, version in seen.items():
            if before.get(ref) != version:
                yield TargetEvent(ref=ref, kind=EventKind.CHANGED, app=app)
        for ref in before.keys() - seen.keys():
            yield TargetEvent(ref=ref, kind=EventKind.DELETED, app=app)
