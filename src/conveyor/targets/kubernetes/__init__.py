"""The Kubernetes target (issue 16): desired state applied to a cluster's API server.

Owns, among the target's modules: `informer` (LIST+WATCH caches of one kind), `watch`
(shared, reference-counted informers per target and waits resolved by their events) and
`watch_events` (drift: cache changes as `TargetEvent`s). The Kubernetes client sits
behind `conveyor.clients` (`kube_watch` for list and watch).
Owns: `target` (`KubernetesTarget`, the `Target` Protocol over `clients.kubeapi`),
`tracking` (Argo CD's label/annotation ownership marks), `normalize` (fields the server
writes or defaults), `live` (the target's informers and drift feed), `build` (a target
from a `conveyor.yaml` entry). Called by `conveyor.app` (which chooses targets) and,
through the Protocol, by `conveyor.reconcile`. Talks to the cluster only through
`conveyor.clients.kube*`; must not know Git or applications.
"""
