"""API discovery: which resource (plural, scope) serves an apiVersion + kind.

Lazy, per group-version: `/api/v1` for the core group, `/apis/<group>/<version>` for the
others (an `APIResourceList`), and `/apis/<group>` (an `APIGroup`) for the preferred
version when only a group and kind are known (an `ObjectRef`). A kind missing from a
cached list re-reads that list once (a CRD applied since, issue 16), so custom resources
are found without a restart. Subresources (`deployments/status`) are skipped.

Called by `clients.kubeapi`, which passes `fetch` (a GET returning the parsed JSON, or
None on 404). Built-in and custom kinds are treated alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from conveyor.clients.kubeerrors import unknown_kind

#: A GET of a discovery path: the parsed JSON, or None when the server answered 404.
Fetch = Callable[[str], Awaitable[Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiResource:
    """One resource the API server serves."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "") -> str:
        """The URL path of the collection (no `name`) or of one object."""
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        tail = f"/{name}" if name else ""
        return f"{_path(self.group, self.version)}{scope}/{self.plural}{tail}"


def split(api_version: str) -> tuple[str, str]:
    """`apps/v1` → ("apps", "v1"); `v1` → ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


def _path(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


class Discovery:
    """A cache of group-version resource lists, refreshed when a kind is not found."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._lists: dict[tuple[str, str], dict[str, ApiResource]] = {}
        self._preferred: dict[str, str] = {}

    async def resource(self, api_version: str, kind: str) -> ApiResource:
        """The resource serving `kind` in `api_version`; KubeUnknownKind when none does."""
        group, version = split(api_version)
        kinds = self._lists.get((group, version))
        if kinds is None or kind not in kinds:
            kinds = await self._load(group, version)
        found = kinds.get(kind)
        if found is None:
            raise unknown_kind(api_version, kind)
        return found

    async def for_group_kind(self, group: str, kind: str) -> ApiResource:
        """The resource of `kind` in `group` at a version already seen, else the group's
        preferred version."""
        for (g, _), kinds in self._lists.items():
            if g == group and kind in kinds:
                return kinds[kind]
        version = await self._preferred_version(group)
        return await self.resource(f"{group}/{version}" if group else version, kind)

    def forget(self, group: str) -> None:
        """Drop what is known of `group` (after a CRD of that group changed)."""
        for key in [k for k in self._lists if k[0] == group]:
            del self._lists[key]
        self._preferred.pop(group, None)

    async def _preferred_version(self, group: str) -> str:
        if not group:
            return "v1"
        if group not in self._preferred:
            doc = await self._fetch(f"/apis/{group}")
            preferred = (doc or {}).get("preferredVersion") or {}
            if not preferred.get("version"):
                raise unknown_kind(f"{group}/*", "any kind")
            self._preferred[group] = str(preferred["version"])
        return self._preferred[group]

    async def _load(self, group: str, version: str) -> dict[str, ApiResource]:
        doc = await self._fetch(_path(group, version))
        kinds: dict[str, ApiResource] = {}
        for entry in (doc or {}).get("resources") or []:
            name = str(entry.get("name") or "")
            if not name or "/" in name or not entry.get("kind"):
                continue
            kinds[str(entry["kind"])] = ApiResource(
                group=group,
                version=version,
                kind=str(entry["kind"]),
                plural=name,
                namespaced=bool(entry.get("namespaced")),
                verbs=tuple(entry.get("verbs") or ()),
            )
        self._lists[(group, version)] = kinds
        return kinds
