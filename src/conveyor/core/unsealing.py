"""SealedSecrets opened: `unseal` and `reseal`. Pure.

`unseal` does what the controller does (`SealedSecret.Unseal`): the scope label comes from
the SealedSecret's own metadata (its name, namespace and scope annotations), so an object
renamed or moved to another namespace fails a strict scope; the Secret takes the
template's metadata, type and immutable, and the SealedSecret's name and namespace.
Refused, with a message: the deprecated `spec.data` blob (the controller refuses it by
default too) and `spec.template.data` (Go templates over the decrypted values, which
Conveyor does not evaluate). `reseal` seals every value of a SealedSecret again for the
newest key (kubeseal's `--re-encrypt`). No message ever contains a value.
Called by `reconcile.unseal` (before apply) and `app.cmd_seal` (`conveyor seal re-encrypt`).
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealing
from conveyor.core.sealedsecret import READ_ONLY_META, Document, SealedSecretInvalid, scope_of
from conveyor.core.sealing import UnsealError


@dataclass(frozen=True, slots=True, kw_only=True)
class _Sealed:
    """A SealedSecret's parts, checked for shape; `what` names it in messages."""

    meta: Document
    spec: Document
    encrypted: dict[str, Any]
    what: str
    label: bytes


def _parts(sealed: Mapping[str, Any]) -> _Sealed:
    meta, spec = _mapping(sealed, "metadata", ""), _mapping(sealed, "spec", "")
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    what = f"SealedSecret {namespace + '/' if namespace else ''}{name}"
    _refuse_unsupported(what, spec)
    notes = _mapping(meta, "annotations", what)
    return _Sealed(
        meta=meta,
        spec=spec,
        encrypted=_mapping(spec, "encryptedData", what),
        what=what,
        label=sealing.label(scope_of(notes), namespace=namespace, name=name),
    )


def _mapping(parent: Mapping[str, Any], field: str, what: str) -> Document:
    value = parent.get(field) or {}
    if not isinstance(value, dict):
        raise SealedSecretInvalid(f"{what or 'the SealedSecret'}: {field} is not a mapping")
    return value


def unseal(sealed: Mapping[str, Any], private_keys: Sequence[rsa.RSAPrivateKey]) -> Document:
    """The Secret a SealedSecret stands for; raises `SealedSecretInvalid` naming the key
    that failed and why (never its value)."""
    parts = _parts(sealed)
    data = {
        str(key): base64.b64encode(_open(parts, key, text, private_keys)).decode()
        for key, text in sorted(parts.encrypted.items())
    }
    meta = parts.meta
    template = _mapping(parts.spec, "template", parts.what)
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    return _secret(template, name=name, namespace=namespace, data=data)


def reseal(
    sealed: Mapping[str, Any],
    private_keys: Sequence[rsa.RSAPrivateKey],
    public_key: rsa.RSAPublicKey,
) -> Document:
    """The SealedSecret with every value sealed again for `public_key` (after a key
    rotation, as kubeseal's `--re-encrypt` asks the controller): same name, namespace,
    scope and template; server-written metadata and `status` dropped."""
    doc = copy.deepcopy(dict(sealed))
    parts = _parts(doc)
    parts.spec["encryptedData"] = {
        str(key): base64.b64encode(
            sealing.encrypt(public_key, _open(parts, key, text, private_keys), parts.label)
        ).decode()
        for key, text in parts.encrypted.items()
    }
    for field in READ_ONLY_META:
        parts.meta.pop(field, None)
    doc.pop("status", None)
    return doc


def _refuse_unsupported(what: str, spec: Mapping[str, Any]) -> None:
    if spec.get("data"):
        raise SealedSecretInvalid(
            f"{what} uses the deprecated spec.data blob (the controller refuses it by default)",
            hint="seal the Secret again with `conveyor seal` or kubeseal (spec.encryptedData)",
        )
    if _mapping(spec, "template", what).get("data"):
        raise SealedSecretInvalid(
            f"{what} has spec.template.data (Go templates over the decrypted values), which "
            "Conveyor's unsealer does not evaluate",
            hint="seal the final values instead of templating them",
        )


def _open(parts: _Sealed, key: str, text: Any, private_keys: Sequence[rsa.RSAPrivateKey]) -> bytes:
    what = parts.what
    try:
        blob = base64.b64decode(str(text), validate=True)
    except binascii.Error as exc:
        raise SealedSecretInvalid(f"{what}: encryptedData.{key} is not valid base64") from exc
    try:
        return sealing.decrypt(private_keys, blob, parts.label)
    except UnsealError as exc:
        raise SealedSecretInvalid(
            f"{what}: cannot unseal encryptedData.{key}: {exc}", hint=_hint(exc, parts.label)
        ) from exc


def _hint(exc: UnsealError, label: bytes) -> str:
    if exc.failure is not sealing.Failure.NO_KEY:
        return "seal the value again"
    shown = label.decode(errors="replace")
    return (
        f"it was sealed for another target's key, or for another scope than the label "
        f"{shown!r} this object's name, namespace and scope annotations give: a SealedSecret "
        "renamed or moved to another namespace must be sealed again (strict scope binds it "
        "to namespace/name); rotated keys stay usable only while their files are kept"
    )


def _secret(
    template: Mapping[str, Any], *, name: str, namespace: str, data: dict[str, str]
) -> Document:
    meta = copy.deepcopy(dict(template.get("metadata") or {}))
    meta["name"] = name
    if namespace:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    secret: Document = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    secret["type"] = template.get("type") or "Opaque"
    if "immutable" in template:
        secret["immutable"] = template["immutable"]
    secret["data"] = data
    return secret
