"""The Podman target (issue 7): Kubernetes manifests run as Podman containers on this host.

Owns: `target` (`PodmanTarget`, the `Target` Protocol), `validate`/`spec`/`runplan`
(what is supported and how a pod template becomes `podman run`), `store` (applied objects,
ConfigMaps and Secrets, 0600 on disk), `controller` (the tick) composing `replicas` (the
replica table, the state each collaborator is handed), `healing` (probes, restarts),
`workloads` + `creation` + `templates` + `rollout` (init containers, rolling updates),
`removal` (drain, then remove), `endpoints` (Service routes) and `events` (drift and
changes told to subscribers); `watch` (podman's event stream), `probes` (run from the
host), `status`/`views` (Kubernetes-shaped live state), `services` + `routing` + `proxy`
(the detached Service data path). Imports point one way: the controller builds its
collaborators; none imports the controller or holds it.

Called by `conveyor.app` (which chooses targets) and through the Protocol by
`conveyor.reconcile`. Talks to Podman only through `conveyor.clients.podman`; must not
know Git or applications.
"""

from conveyor.targets.podman.target import NORMALIZATION, PodmanTarget, host_limits

__all__ = ["NORMALIZATION", "PodmanTarget", "host_limits"]
