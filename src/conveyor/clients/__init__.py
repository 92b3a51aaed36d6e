"""Thin adapters over outside programs and libraries: the git CLI today; podman, Kubernetes,
registries and the GitHub API as later issues need them.

Each adapter turns one program's interface into small typed calls and maps its failures to
`conveyor.clients.errors.ClientError` (`raise … from exc`). Called by `workflow`, `promote`,
`reconcile` and `ci`; holds no business logic and imports nothing above `core`.
"""
