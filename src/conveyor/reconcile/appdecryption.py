"""`spec.decryption` of an Application or a Flux Kustomization, read into
`appmodel.Decryption` (issue 17).

Conveyor's Application (an extension Argo CD does not have; Argo CD leaves SOPS to
plugins):

    spec:
      decryption:
        provider: sops
        keyFile: /etc/conveyor/age.key        # on the reconciler's machine, mode 0600
        secretRef: {name: sops-age, namespace: shop}   # `*.agekey` keys, on the target

A Flux Kustomization's `spec.decryption: {provider: sops, secretRef: {name}}` reads the
same way, the Secret in the Kustomization's own namespace, as Flux reads it. Only the
`sops` provider exists. Called by `reconcile.appspec` and `reconcile.flux`.
"""

from __future__ import annotations

from typing import Any

from conveyor.reconcile import appschema as schema
from conveyor.reconcile.appmodel import Decryption
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.yamlnodes import Document

FLUX_DECRYPTION = schema.level("provider secretRef")
FLUX_SECRET_REF = schema.level("name")


def read(
    doc: Document, spec: dict[str, Any], *, namespace: str, flux: bool = False
) -> Decryption | None:
    """The block at `spec.decryption`, or None; a Secret without a namespace is looked up
    in `namespace`."""
    if spec.get("decryption") is None:
        return None
    at = ("spec", "decryption")
    block = schema.mapping(doc, spec["decryption"], *at)
    schema.check(doc, block, FLUX_DECRYPTION if flux else schema.DECRYPTION, *at)
    provider = schema.text(doc, block.get("provider"), *at, "provider")
    if provider != "sops":
        raise ApplicationInvalid(
            f"decryption provider {provider!r} is not supported",
            location=doc.where(*at, "provider"),
            hint="set provider: sops (SOPS with age keys)",
        )
    ref = schema.mapping(doc, block.get("secretRef"), *at, "secretRef")
    schema.check(doc, ref, FLUX_SECRET_REF if flux else schema.SECRET_REF, *at, "secretRef")
    key_file = schema.text(doc, block.get("keyFile"), *at, "keyFile")
    name = schema.text(doc, ref.get("name"), *at, "secretRef", "name")
    if not key_file and not name:
        raise ApplicationInvalid(
            "spec.decryption names no key",
            location=doc.where(*at),
            hint="give keyFile (a 0600 file of age identities) or secretRef.name",
        )
    secret_namespace = schema.text(doc, ref.get("namespace"), *at, "secretRef", "namespace")
    return Decryption(
        key_file=key_file,
        secret_name=name,
        secret_namespace=(secret_namespace or namespace) if name else "",
    )
