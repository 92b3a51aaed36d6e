"""Sync order: phase, then wave, then kind, then name. Pure.

Follows Argo CD's documented rules (user-guide/sync-waves.md, resource_hooks.md):
* phase from the hook annotation `argocd.argoproj.io/hook` (or `conveyor.dev/hook`):
  PreSync, Sync, PostSync, SyncFail, Skip (never applied), PreDelete and PostDelete (run
  when the app is deleted, never by a sync: `order` leaves them out unless asked for
  deletion phases); without one, Helm's hook annotations as Argo CD maps them
  (`helmhooks`: pre-delete/post-delete become PreDelete/PostDelete); objects without a
  hook annotation are plain resources of the Sync phase;
* wave from `conveyor.dev/sync-wave`, else `argocd.argoproj.io/sync-wave` (an integer,
  negative allowed), else `helm.sh/hook-weight` when no Argo CD hook is set, default 0;
* within a wave, kinds in dependency order (Namespace first, ConfigMap/Secret before
  workloads, Ingress late), then by name.
Hook delete policies come from `argocd.argoproj.io/hook-delete-policy`
(BeforeHookCreation by default, HookSucceeded, HookFailed) plus Helm's
`helm.sh/hook-delete-policy`. Called by `reconcile.plan`.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.core.errors import UserError
from conveyor.reconcile import helmhooks
from conveyor.reconcile.model import Phase, Step, Wave
from conveyor.targets.base import Manifest, ObjectRef

HOOK_ANNOTATIONS = ("conveyor.dev/hook", "argocd.argoproj.io/hook")
WAVE_ANNOTATIONS = ("conveyor.dev/sync-wave", "argocd.argoproj.io/sync-wave")
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
_PHASES = {p.value: p for p in Phase}
_PHASE_ORDER = {
    Phase.PRE_SYNC: 0,
    Phase.SYNC: 1,
    Phase.POST_SYNC: 2,
    Phase.SYNC_FAIL: 3,
    Phase.PRE_DELETE: 4,
    Phase.POST_DELETE: 5,
}
#: What a sync runs; the deletion of an app runs DELETION_PHASES (`reconcile.deletion`).
SYNC_PHASES = frozenset({Phase.PRE_SYNC, Phase.SYNC, Phase.POST_SYNC, Phase.SYNC_FAIL})
DELETION_PHASES = frozenset({Phase.PRE_DELETE, Phase.POST_DELETE})

#: Kind order inside a wave (the order Helm installs in, which Argo CD also uses).
KIND_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


def _annotations(obj: Manifest) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def phases_of(obj: Manifest) -> tuple[Phase, ...] | None:
    """The hook phases of `obj`; () for a plain resource; None when it must be skipped."""
    notes = _annotations(obj)
    raw = next((notes[a] for a in HOOK_ANNOTATIONS if a in notes), None)
    if raw is None:
        helm = helmhooks.phases(notes, where=str(ObjectRef.of(obj)))
        if helm is None:
            return ()
        # a Helm hook of no phase run in a sync (test, pre-rollback, …) is never applied
        return tuple(_PHASES[n] for n in helm if n in _PHASES) or None
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if "Skip" in names:
        return None
    unknown = [n for n in names if n not in _PHASES]
    if unknown:
        raise UserError(
            f"{ObjectRef.of(obj)}: unknown hook phase {unknown[0]!r}",
            hint="use PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip",
        )
    return tuple(_PHASES[n] for n in names)


def wave_of(obj: Manifest) -> int:
    notes = _annotations(obj)
    raw = next((notes[a] for a in WAVE_ANNOTATIONS if a in notes), None)
    if raw is None:
        if any(a in notes for a in HOOK_ANNOTATIONS):  # Argo CD hooks ignore Helm's weight
            return 0
        return helmhooks.weight(notes, where=str(ObjectRef.of(obj))) or 0
    try:
        return int(str(raw).strip())
    except ValueError as exc:
        raise UserError(
            f"{ObjectRef.of(obj)}: sync wave {raw!r} is not an integer",
            hint='write e.g. argocd.argoproj.io/sync-wave: "-1"',
        ) from exc


def delete_policies(obj: Manifest) -> tuple[str, ...]:
    notes = _annotations(obj)
    helm = helmhooks.delete_policies(notes, where=str(ObjectRef.of(obj)))
    if DELETE_POLICY not in notes and not helm:
        return ("BeforeHookCreation",)
    argo = [p.strip() for p in notes.get(DELETE_POLICY, "").split(",") if p.strip()]
    return tuple(dict.fromkeys((*argo, *helm)))


def kind_rank(kind: str) -> int:
    return _KIND_RANK.get(kind, len(KIND_ORDER))


def is_hook(obj: Manifest) -> bool:
    phases = phases_of(obj)
    return phases is None or bool(phases)


def order(objects: Iterable[Manifest], *, only: frozenset[Phase] = SYNC_PHASES) -> tuple[Wave, ...]:
    """Group objects into waves: (phase, wave) ascending, steps in kind/name order; only
    the phases in `only` (a sync's by default: PostDelete hooks never run in a sync)."""
    steps: list[Step] = []
    for obj in objects:
        phases = phases_of(obj)
        if phases is None:
            continue
        ref = ObjectRef.of(obj)
        wave = wave_of(obj)
        for phase in [p for p in phases or (Phase.SYNC,) if p in only]:
            steps.append(
                Step(
                    ref=ref,
                    obj=obj,
                    phase=phase,
                    wave=wave,
                    hook=bool(phases),
                    delete_policies=delete_policies(obj) if phases else (),
                )
            )
    steps.sort(
        key=lambda s: (
            _PHASE_ORDER[s.phase],
            s.wave,
            kind_rank(s.ref.kind),
            s.ref.namespace,
            s.ref.name,
        )
    )
    waves: list[Wave] = []
    for step in steps:
        if waves and (waves[-1].phase, waves[-1].wave) == (step.phase, step.wave):
            waves[-1] = Wave(phase=step.phase, wave=step.wave, steps=(*waves[-1].steps, step))
        else:
            waves.append(Wave(phase=step.phase, wave=step.wave, steps=(step,)))
    return tuple(waves)
