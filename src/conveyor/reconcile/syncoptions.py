"""Argo CD's sync options: which exist, which values they take, and where (issue 14).

Options come from an Application's `spec.syncPolicy.syncOptions` (scope APP) or from an
object's `argocd.argoproj.io/sync-options` annotation, comma-separated (scope RESOURCE).
An unknown option, a value the option does not take, or an option in the wrong place is
an error naming the option and what it accepts: Argo CD would ignore `BogusOption=yes`
and report Synced; Conveyor refuses it. `compare-options` are checked the same way.
Pure: no I/O. Called by `applications` (app scope) and `annotations` (resource scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Flag, auto

from conveyor.core.errors import UserError
from conveyor.core.location import Location


class Scope(Flag):
    APP = auto()
    RESOURCE = auto()
    BOTH = APP | RESOURCE


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    values: tuple[str, ...]
    scope: Scope
    meaning: str


_BOOL = ("true", "false")

SYNC_OPTIONS: dict[str, Option] = {
    "Validate": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="false skips the target's schema validation"
    ),
    "CreateNamespace": Option(
        values=_BOOL, scope=Scope.APP, meaning="create the destination namespace first"
    ),
    "PruneLast": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="prune after every wave has synced"
    ),
    "ApplyOutOfSyncOnly": Option(
        values=_BOOL, scope=Scope.APP, meaning="apply only the objects that differ"
    ),
    "PrunePropagationPolicy": Option(
        values=("foreground", "background", "orphan"),
        scope=Scope.APP,
        meaning="how dependents of a pruned object are deleted",
    ),
    "Replace": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="replace objects instead of applying"
    ),
    "Force": Option(values=_BOOL, scope=Scope.BOTH, meaning="with Replace: delete and re-create"),
    "ServerSideApply": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="server-side apply (Kubernetes targets)"
    ),
    "FailOnSharedResource": Option(
        values=_BOOL, scope=Scope.APP, meaning="fail when another app owns an object"
    ),
    "RespectIgnoreDifferences": Option(
        values=_BOOL, scope=Scope.APP, meaning="keep ignored fields' live values on sync"
    ),
    "ClientSideApplyMigration": Option(
        values=_BOOL, scope=Scope.APP, meaning="server-side apply field migration (Kubernetes)"
    ),
    "SkipDryRunOnMissingResource": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="allow kinds the target does not know yet"
    ),
    "Prune": Option(
        values=("false", "true", "confirm"),
        scope=Scope.RESOURCE,
        meaning="false keeps the object when it leaves Git",
    ),
    "Delete": Option(
        values=("false", "true", "confirm"),
        scope=Scope.RESOURCE,
        meaning="false keeps the object when the app is deleted",
    ),
}

COMPARE_OPTIONS: dict[str, Option] = {
    "IgnoreExtraneous": Option(
        values=("",), scope=Scope.RESOURCE, meaning="not counted in the app's sync status"
    ),
    "ServerSideDiff": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="diff by server-side dry-run (Kubernetes)"
    ),
    "IncludeMutationWebhook": Option(
        values=_BOOL, scope=Scope.BOTH, meaning="with ServerSideDiff: include webhooks"
    ),
}


def parse(
    text: str, *, scope: Scope, table: dict[str, Option], where: Location, what: str
) -> dict[str, str]:
    """`A=true,B=x` (or one item of a list) → {"A": "true", "B": "x"}; UserError on any
    option `table` does not know, a value it does not take, or the wrong scope."""
    out: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, value = item.partition("=")
        option = table.get(name)
        if option is None:
            raise UserError(
                f"unknown {what} {item!r}",
                location=where,
                hint="known: " + ", ".join(sorted(table)),
            )
        if scope not in option.scope:
            place = "an object's annotation" if Scope.RESOURCE in option.scope else "the app"
            raise UserError(
                f"{what} {name} is only valid on {place}", location=where, hint=option.meaning
            )
        if option.values != ("",) and value.lower() not in option.values:
            raise UserError(
                f"{what} {item!r} has no meaning",
                location=where,
                hint=f"{name} takes {' or '.join(option.values)} ({option.meaning})",
            )
        out[name] = value.lower()
    return out
