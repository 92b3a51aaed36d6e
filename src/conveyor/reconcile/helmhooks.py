"""Helm's hook annotations read as Argo CD reads them (gitops-engine `sync/hook/helm`,
Argo CD's user guide "Helm Hooks"). Pure.

* `helm.sh/hook`: `pre-install`/`pre-upgrade` → PreSync, `post-install`/`post-upgrade` →
  PostSync, `pre-delete` → PreDelete, `post-delete` → PostDelete. Any other event
  (`test`, `test-success`, `test-failure`, `pre-rollback`, `post-rollback`) makes the
  object a hook of no phase Conveyor runs in a sync, so it is never applied (Argo CD:
  "unsupported hooks are ignored"). `crd-install` is not a hook: the object is a plain
  resource.
* `helm.sh/hook-weight` is the sync wave when `argocd.argoproj.io/sync-wave` is not set.
* `helm.sh/hook-delete-policy`: `before-hook-creation` → BeforeHookCreation,
  `hook-succeeded` → HookSucceeded, `hook-failed` → HookFailed, added to Argo CD's own.
* An object that carries Argo CD's hook annotation ignores every Helm hook annotation
  but the delete policy (gitops-engine merges both policy lists).

Called by `reconcile.ordering`.
"""

from __future__ import annotations

from collections.abc import Mapping

from conveyor.core.errors import UserError

HOOK = "helm.sh/hook"
WEIGHT = "helm.sh/hook-weight"
DELETE_POLICY = "helm.sh/hook-delete-policy"

#: Helm hook event → Argo CD hook phase name.
PHASES = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
    "pre-delete": "PreDelete",
    "post-delete": "PostDelete",
}
#: Events Helm defines that Argo CD does not run: such an object is never applied.
NOT_RUN = ("test", "test-success", "test-failure", "pre-rollback", "post-rollback")
TEST_EVENTS = ("test", "test-success", "test-failure")
DELETE_POLICIES = {
    "before-hook-creation": "BeforeHookCreation",
    "hook-succeeded": "HookSucceeded",
    "hook-failed": "HookFailed",
}


def _csv(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def phases(notes: Mapping[str, str], *, where: str) -> tuple[str, ...] | None:
    """Argo CD phase names of a Helm hook; None when `notes` make no Helm hook (no
    annotation, or `crd-install`); () for a hook Argo CD never runs (`test`, …)."""
    raw = notes.get(HOOK)
    if raw is None:
        return None
    events = _csv(raw)
    if events == ["crd-install"]:
        return None
    unknown = [e for e in events if e not in PHASES and e not in NOT_RUN and e != "crd-install"]
    if unknown:
        raise UserError(
            f"{where}: unknown Helm hook {unknown[0]!r} in {HOOK}",
            hint=f"use one of {', '.join([*PHASES, *NOT_RUN])}",
        )
    return tuple(dict.fromkeys(PHASES[e] for e in events if e in PHASES))


def is_test(notes: Mapping[str, str]) -> bool:
    """A Helm test hook (`helm.sh/hook: test`), which `helm.skipTests` leaves out."""
    return any(e in TEST_EVENTS for e in _csv(notes.get(HOOK, "")))


def weight(notes: Mapping[str, str], *, where: str) -> int | None:
    """`helm.sh/hook-weight` as an integer; None when absent."""
    raw = notes.get(WEIGHT)
    if raw is None:
        return None
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise UserError(
            f"{where}: {WEIGHT} {raw!r} is not an integer",
            hint='write e.g. helm.sh/hook-weight: "-5"',
        ) from exc


def delete_policies(notes: Mapping[str, str], *, where: str) -> tuple[str, ...]:
    """Helm's delete policies as Argo CD's names."""
    out = []
    for name in _csv(notes.get(DELETE_POLICY, "")):
        if name not in DELETE_POLICIES:
            raise UserError(
                f"{where}: unknown {DELETE_POLICY} {name!r}",
                hint=f"use one of {', '.join(DELETE_POLICIES)}",
            )
        out.append(DELETE_POLICIES[name])
    return tuple(out)
