"""Promotion: write a new image into a GitOps config repository, safely and at scale.

Owns the manifest editors (pure text → text, byte-identical except the changed scalar):
`workloads` (container `image:` fields), `kustomize` (`images:` entries), `paths`
(yq-style `.a.b[0].c` paths, used for Helm values and `--set`); the repository's
`promotion.yaml` (`config`); the pure planner that turns a request and a tree snapshot into
file edits (`planner`); Git write-back with re-apply-on-new-tip retries (`writeback`);
pull requests (`pullrequest`); stage-to-stage copies (`stages`); history from commit
trailers (`history`); and the monorepo `affected` matrix (`affected`).

Called by `conveyor.app.cmd_promote` / `cmd_affected` and, as a library, by Conveyor's
own CI (`promote.service.promote`). Git goes through `conveyor.clients.gitwrite` and
`conveyor.clients.git`. Must not import `workflow` or `reconcile`: Git is the only
contract between CI, promotion and the reconciler.
"""
