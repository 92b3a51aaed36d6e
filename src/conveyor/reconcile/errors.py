"""The reconcile package's exceptions.

ConveyorError
└── ReconcileError
    ├── ApplicationInvalid (UserError)   an Application document is wrong: file:line:col + hint
    ├── SourceError (TransientError)     fetch or resolve failed; last good revision stays
    └── RenderError (UserError)          manifests could not be produced; nothing is synced
        │                                and nothing pruned
        └── SourceNotSupported           it renders nothing over another tool's files

A failure on one object during sync is not an exception: it is a `ResourceResult`.
"""

from __future__ import annotations

from conveyor.core.errors import ConveyorError, TransientError, UserError


class ReconcileError(ConveyorError):
    """Base of reconcile errors."""


class ApplicationInvalid(ReconcileError, UserError):
    """An Application document does not follow the schema."""


class SourceError(ReconcileError, TransientError):
    """Git could not be fetched or a revision not resolved; retried on the next pass."""


class RenderError(ReconcileError, UserError):
    """The source could not be rendered into manifests (bad YAML, kustomize failed)."""


class SourceNotSupported(RenderError):
    """The source renders nothing over files another renderer reads (a path that points at
    a parent of a chart or a kustomization). Nothing is synced or pruned, and the app never
    reports Synced/Healthy on a render that silently left those files out. (Config
    management plugins are refused when the Application is read.)"""
