"""A `kubernetes` target from its `conveyor.yaml` entry (issue 16).

```yaml
targets:
  - name: prod
    type: kubernetes
    kubeconfig: ~/.kube/config   # with context:, or neither: in-cluster service account
    context: prod-admin
    tracking: annotation+label   # label | annotation | annotation+label (Argo CD's)
    resync: 5m                   # how often the watches re-list (a guard; drift is watched)
```
Any other key is refused with the list of known ones. Called by `conveyor.app`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.core.errors import UserError
from conveyor.targets.kubernetes.target import KubernetesTarget
from conveyor.targets.kubernetes.tracking import Tracking

OPTIONS = ("kubeconfig", "context", "tracking", "resync")


def build(
    name: str, options: Mapping[str, Any], *, seconds: Callable[[Any], float]
) -> KubernetesTarget:
    """The target `name`; `seconds` parses durations (`30s`) as the app config does."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise UserError(
            f"target {name!r}: unknown option(s) {', '.join(unknown)} for type kubernetes",
            hint=f"known: {', '.join(OPTIONS)}",
        )
    path = options.get("kubeconfig")
    context = options.get("context")
    config = kubeconfig.load(str(path) if path else None, str(context) if context else None)
    tracking = Tracking.parse(options.get("tracking", Tracking.ANNOTATION_LABEL), target=name)
    resync = seconds(options.get("resync", "300s"))
    if resync <= 0:
        raise UserError(f"target {name!r}: resync must be positive", hint="e.g. resync: 5m")
    return KubernetesTarget(name=name, api=KubeApi(config), tracking=tracking, resync=resync)
