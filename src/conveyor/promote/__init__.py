"""Promotion: write a new image into a GitOps config repository, safely and at scale.

Owns the manifest editors (pure text → text, byte-identical except the changed scalar):
`workloads` (container `image:` fields), `kustomize` (`images:` entries), `paths`
(yq-style `.a.b[0].c` paths, used for Helm values and `--set`); the repository's
`promotion.yaml` (`config`); the pure planner that turns a request and a tree snapshot into
file edits (`planner`); image references (`imageref`); commit trailers (`trailers`);
`--only-if-newer` ordering (`ordering`); Git write-back with re-apply-on-new-tip retries
(`writeback`) and machine-wide group commit (`groupcommit`); pull requests
(`pullrequest`); stage-to-stage copies (`stages`); history from commit trailers
(`history`); the monorepo `affected` matrix (`affected`); and the library entry points
(`service`).

Called by `conveyor.app.cmd_promote` / `cmd_affected` and, as a library, by Conveyor's
own CI (`promote.service.promote`). Git goes through `conveyor.clients.gitwrite` and
`conveyor.clients.git`. Must not import `workflow` or `reconcile`: Git is the only
contract between CI, promotion and the reconciler.
"""
