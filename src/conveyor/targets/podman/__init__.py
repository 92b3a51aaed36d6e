"""The Podman target (issue 7): Kubernetes manifests run as Podman containers on this host.

Owns: `target` (`PodmanTarget`, the `Target` Protocol), `validate`/`spec`/`runplan`
(what is supported and how a pod template becomes `podman run`), `store` (applied objects,
ConfigMaps and Secrets, 0600 on disk), `controller` + `workloads` + `creation` +
`templates` + `rollout` (replicas, init containers, self-heal, rolling updates, drift),
`watch` (podman's event stream), `probes` (run from the host), `status`/`views`
(Kubernetes-shaped live state), `services` + `routing` + `proxy` (the detached Service
data path).

Called by `conveyor.app` (which chooses targets) and through the Protocol by
`conveyor.reconcile`. Talks to Podman only through `conveyor.clients.podman`; must not
know Git or applications.
"""

from conveyor.targets.podman.target import NORMALIZATION, PodmanTarget, host_limits

__all__ = ["NORMALIZATION", "PodmanTarget", "host_limits"]
