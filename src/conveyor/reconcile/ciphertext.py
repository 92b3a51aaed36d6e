"""SOPS ciphertext where no `sops:` block says so: a Secret or ConfigMap a kustomize
`secretGenerator` / `configMapGenerator` made from an encrypted file (a sops dotenv file in
`envs:`, an encrypted file in `files:`).

Flux's kustomize-controller decrypts such generator sources before it builds; Conveyor
decrypts SOPS manifests only, so the object would reach the workload holding `ENC[…]`
strings instead of its values. `refuse` fails the render instead, naming the object and the
key, never a value. An object that is meant to carry SOPS ciphertext (a tool in the
workload decrypts it) says so with the annotation `conveyor.dev/sops-ciphertext: keep`.
Called by `reconcile.decrypt.Decryptor` on every render of an app.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from conveyor.reconcile.errors import RenderError
from conveyor.targets.base import Manifest, ObjectRef

MARK = "ENC[AES256_GCM,data:"
KEEP = "conveyor.dev/sops-ciphertext"
FIELDS = {"Secret": ("stringData", "data"), "ConfigMap": ("data", "binaryData")}
BASE64 = {("Secret", "data"), ("ConfigMap", "binaryData")}  # the base64-encoded fields


def refuse(manifests: Iterable[Manifest]) -> None:
    """RenderError for the first Secret or ConfigMap holding SOPS ciphertext unannounced."""
    for manifest in manifests:
        kind = str(manifest.get("kind", ""))
        if kind not in FIELDS or "sops" in manifest or _kept(manifest):
            continue
        for field, key in _ciphertext(manifest, FIELDS[kind]):
            raise RenderError(
                f"{ObjectRef.of(manifest)}: {field}.{key} holds SOPS ciphertext; "
                "it was made from an encrypted file (a kustomize secretGenerator or "
                "configMapGenerator source?), which Flux decrypts before the build and "
                "Conveyor does not",
                hint="commit the object itself SOPS-encrypted (conveyor secrets encrypt), or "
                f"annotate it {KEEP}: keep if the workload decrypts it",
            )


def _kept(manifest: Manifest) -> bool:
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    return isinstance(annotations, Mapping) and annotations.get(KEEP) == "keep"


def _ciphertext(manifest: Manifest, fields: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    kind = manifest.get("kind")
    for field in fields:
        values: Any = manifest.get(field) or {}
        if not isinstance(values, Mapping):
            continue
        encoded = (kind, field) in BASE64
        for key, value in values.items():
            if MARK in (_decoded(value) if encoded else str(value)):
                yield field, str(key)


def _decoded(value: object) -> str:
    try:
        # kustomize wraps long base64 values over lines
        return base64.b64decode("".join(str(value).split()), validate=True).decode(errors="replace")
    except (binascii.Error, ValueError):
        return ""
