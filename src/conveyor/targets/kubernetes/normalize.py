"""Live fields a Kubernetes API server writes or defaults, so the diff ignores them.

The server fills `metadata.uid`, `resourceVersion`, `generation`, `creationTimestamp` and
`managedFields` on every object, and defaults fields the manifest left out (a
Deployment's `replicas: 1`, a Service port's `protocol: TCP`, …; the same defaults the
memory target simulates, `targets.memory_status.DEFAULTS`, from the API reference). A
default counts as noise only where it holds the default value (`NormalizationRule.default`).
A Service's `clusterIP(s)` is allocated by the server. Used by `targets.kubernetes.target`.
"""

from __future__ import annotations

from conveyor.targets.base import NormalizationRule
from conveyor.targets.memory_status import DEFAULTS

_POPULATED = (
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/generation",
    "/metadata/creationTimestamp",
    "/metadata/managedFields",
)

SERVER_FIELDS: tuple[NormalizationRule, ...] = (
    NormalizationRule(kind="*", pointers=_POPULATED),
    NormalizationRule(kind="Service", group="", pointers=("/spec/clusterIP", "/spec/clusterIPs")),
    *DEFAULTS,
)
