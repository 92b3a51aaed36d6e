"""The pull-based GitOps reconciler (issue 6): makes every environment match Git.

Owns, by step of the flow `DesiredState → SyncPlan → [ResourceResult] → HealthReport →
HistoryEntry` (values in `model`):

* `applications` (Argo CD's Application schema, plus `spec.dependsOn`), `config`
  (targets, state, cache from conveyor.yaml);
* fetch: `sources` (Git mirror cache through `conveyor.clients.gitmirror`);
* render: `render` (cache by content), `render_directory`, `render_jsonnet` (evaluated in
  `jsonnet_worker`'s process), `render_kustomize` (the real binary, the Application's
  block as a `kustomize_overlay`), `manifests`; Helm is a seam that refuses clearly;
  `unseal` (SealedSecrets → Secrets for non-Kubernetes targets, keys in `sealkeys`);
* compare: `diff` + `paths` (normalisation, ignoreDifferences, Secret redaction),
  `pairing`, `plan`;
* sync: `ordering` (phases, waves, kinds), `inventory` (safe prune), `sync` (execution);
* health: `health/` (one module per kind);
* `drift` (auto-sync, self-heal and retry decisions), `status` (the one `summarize`),
  `rollback` (re-sync with auto-sync paused, or a revert commit), `metrics`;
* the loop, pointing one way: `loop` (work queue, triggers, target events, requeues)
  holds the `reconciler` (passes, dependsOn), which runs `steps` (one app's step
  functions) over `runtime` (run state apart from the parsed spec);
* several replicas: `membership` (Leases through `conveyor.clients.kubelease`), `sharding`
  (pure: which replica owns which app), `ownership` (what this replica runs now).

Called by `conveyor.app` (`conveyor reconcile`, `conveyor app …`) and, later, the server
(refresh API, webhooks, /metrics). Must not import `workflow` or `promote`; talks to
targets only through `conveyor.targets.base.Target` and persists only through
`conveyor.store`. Pure modules (`diff`, `paths`, `health`, `ordering`, `pairing`, `plan`,
`inventory`, `drift`, `status`, `model`) import no I/O library.
"""
