"""`Checker`: the health rules of one configuration. Custom Lua scripts first (configured
per group/kind as in Argo CD's argocd-cm, see `reconcile.healthconfig`), then the
built-in rule for the kind, then the generic `status.conditions` rule.

Scripts are looked up as Argo CD does: by `group/Kind` (`Kind` alone for the core group),
an exact key before any wildcard key (`*.example.com/*`, shell-style), wildcards in the
order the configuration lists them. A custom script overrides the built-in rule for its
kind, as in Argo CD.

Built once from the config by `app.cmd_reconcile` and kept in `reconcile.steps.Env`;
`steps.assess` and the sync waves call `assess`. The Lua runtime starts on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from conveyor.reconcile.health import builtin
from conveyor.reconcile.health.lua import TIMEOUT, LuaHealth
from conveyor.reconcile.health.verdict import Verdict
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest, ObjectRef

_WILDCARDS = frozenset("*?[")


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthScript:
    """One custom health check: `pattern` is Argo CD's resource key (`group/Kind`, or
    `Kind` for the core group, wildcards allowed); `key` is where the config set it."""

    pattern: str
    source: str
    key: str = ""

    @property
    def wildcard(self) -> bool:
        return bool(_WILDCARDS & set(self.pattern))

    def matches(self, resource: str) -> bool:
        return fnmatchcase(resource, self.pattern) if self.wildcard else resource == self.pattern


def resource_key(group: str, kind: str) -> str:
    """Argo CD's key for a group/kind: `group/Kind`, or `Kind` for the core group."""
    return f"{group}/{kind}" if group else kind


class Checker:
    """Custom scripts over built-in rules; `assess` is what every health question calls."""

    def __init__(self, scripts: Sequence[HealthScript] = (), *, timeout: float = TIMEOUT) -> None:
        self.scripts = tuple(s for s in scripts if not s.wildcard) + tuple(
            s for s in scripts if s.wildcard
        )
        self.timeout = timeout
        self._lua: LuaHealth | None = None

    def assess(self, obj: Manifest | None) -> Verdict:
        """The health of one live object (None: it does not exist)."""
        if obj is None:
            return Verdict(HealthStatus.MISSING, "object does not exist")
        ref = ObjectRef.of(obj)
        script = self.script_for(ref.group, ref.kind)
        if script is None:
            return builtin.assess(obj, ref.group, ref.kind)
        return self.lua.run(script.source, script.pattern, obj)

    def script_for(self, group: str, kind: str) -> HealthScript | None:
        resource = resource_key(group, kind)
        return next((s for s in self.scripts if s.matches(resource)), None)

    @property
    def lua(self) -> LuaHealth:
        if self._lua is None:
            self._lua = LuaHealth(timeout=self.timeout)
        return self._lua
