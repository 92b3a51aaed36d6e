"""The Kubernetes target (issue 16): desired state applied to a cluster's API server.

Owns, among the target's modules: `informer` (LIST+WATCH caches of one kind), `watch`
(shared, reference-counted informers per target and waits resolved by their events) and
`watch_events` (drift: cache changes as `TargetEvent`s). The Kubernetes client sits
behind `conveyor.clients` (`kube_watch` for list and watch).
"""
