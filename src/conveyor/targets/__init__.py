"""Where desired state lands: one `Target` Protocol, several implementations.

Owns: `base` (the Protocol every target implements, object references, target events and
the normalisation rules a target declares), `memory` (a fake target for tests and benches
that simulates controllers enough for health checks). The Podman target (issue 7) and the
Kubernetes target implement the same Protocol.

Called by `conveyor.reconcile` (sync, drift, health) and chosen in `conveyor.app`.
Must not know Git, applications, or how manifests were rendered: a target receives
Kubernetes-shaped objects and answers with Kubernetes-shaped objects.
"""

from conveyor.targets.base import (
    OWNER_LABEL,
    EventKind,
    Manifest,
    NormalizationRule,
    ObjectRef,
    Target,
    TargetError,
    TargetEvent,
    TargetRejected,
    TargetUnavailable,
)

__all__ = [
    "OWNER_LABEL",
    "EventKind",
    "Manifest",
    "NormalizationRule",
    "ObjectRef",
    "Target",
    "TargetError",
    "TargetEvent",
    "TargetRejected",
    "TargetUnavailable",
]
