"""SealedSecret documents (`bitnami.com/v1alpha1`): a Secret sealed. Pure.

`seal` does what `kubeseal` does with an input Secret (its `pkg/kubeseal` and
`NewSealedSecret`): the scope comes from the Secret's annotations
`sealedsecrets.bitnami.com/namespace-wide` / `cluster-wide` (set from `scope` when one is
given: an explicit `strict` also clears them, where kubeseal leaves them); read-only
metadata, `last-applied-configuration` annotations and ownerReferences are dropped; the
Secret's metadata, `type` and `immutable` become `spec.template`; every `data` value
(base64-decoded) and `stringData` value is sealed on its own into `spec.encryptedData`; the
SealedSecret carries only the name, namespace and scope annotations. Non-string values are
refused. Unsealing is `core.unsealing`. No message ever contains a value.
Called by `app.cmd_seal` (`conveyor seal`), `core.unsealing` (names and scope rules).
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealing
from conveyor.core.errors import UserError
from conveyor.core.sealing import Scope

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"
NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
LAST_APPLIED = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
)
READ_ONLY_META = (
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "managedFields",
)

Document = dict[str, Any]


class SealedSecretInvalid(UserError):
    """A Secret that cannot be sealed, or a SealedSecret that cannot be unsealed."""


def is_sealed(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == KIND and obj.get("apiVersion") == API_VERSION


def scope_of(annotations: Mapping[str, Any] | None) -> Scope:
    """The scope the annotations declare (cluster-wide wins, as in the controller)."""
    notes = annotations or {}
    if notes.get(CLUSTER_WIDE) == "true":
        return Scope.CLUSTER_WIDE
    if notes.get(NAMESPACE_WIDE) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def scope_annotations(annotations: Mapping[str, Any] | None, scope: Scope) -> dict[str, Any]:
    """`annotations` with exactly the scope annotations `scope` needs."""
    out = {k: v for k, v in (annotations or {}).items() if k not in (NAMESPACE_WIDE, CLUSTER_WIDE)}
    if scope is Scope.NAMESPACE_WIDE:
        out[NAMESPACE_WIDE] = "true"
    elif scope is Scope.CLUSTER_WIDE:
        out[CLUSTER_WIDE] = "true"
    return out


def seal(
    secret: Mapping[str, Any],
    public_key: rsa.RSAPublicKey,
    *,
    scope: Scope | None = None,
    allow_empty: bool = False,
) -> Document:
    """The SealedSecret of `secret` (a v1 Secret), sealed for `public_key`."""
    if secret.get("kind") != "Secret" or secret.get("apiVersion") != "v1":
        raise SealedSecretInvalid("the input is not a v1 Secret", hint="give a kind: Secret")
    meta = _clean_meta(secret.get("metadata"), scope)
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    if not name:
        raise SealedSecretInvalid("missing metadata.name in the input Secret", hint="add one")
    chosen = scope_of(meta.get("annotations"))
    if chosen is not Scope.CLUSTER_WIDE and not namespace:
        raise SealedSecretInvalid(
            f"the input Secret has no metadata.namespace and the scope is {chosen}",
            hint="add metadata.namespace, pass --namespace, or use --scope cluster-wide",
        )
    values = _plain_values(secret)
    if not values and not allow_empty:
        raise SealedSecretInvalid(
            "the input Secret has no data and no stringData",
            hint="add values, or pass --allow-empty-data if an empty Secret is meant",
        )
    label = sealing.label(chosen, namespace=namespace, name=name)
    encrypted = {
        key: base64.b64encode(sealing.encrypt(public_key, value, label)).decode()
        for key, value in values.items()
    }
    return _document(meta, secret, encrypted, chosen)


def _clean_meta(raw: Any, scope: Scope | None) -> Document:
    meta: Document = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else {}
    for field in READ_ONLY_META:
        meta.pop(field, None)
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in LAST_APPLIED}
    if scope is not None:
        notes = scope_annotations(notes, scope)
    if notes:
        meta["annotations"] = notes
    else:
        meta.pop("annotations", None)
    return meta


def _plain_values(secret: Mapping[str, Any]) -> dict[str, bytes]:
    values: dict[str, bytes] = {}
    for key, text in _strings(secret, "data").items():
        try:
            values[key] = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise SealedSecretInvalid(
                f"data.{key} of the input Secret is not valid base64",
                hint="encode it with base64, or move it to stringData",
            ) from exc
    for key, text in _strings(secret, "stringData").items():
        values[key] = text.encode()
    return values


def _strings(secret: Mapping[str, Any], field: str) -> dict[str, str]:
    """`data` or `stringData`: a mapping of strings (YAML `true` or `5432` is refused,
    as the API server refuses it, rather than sealed as Python spells it)."""
    raw = secret.get(field) or {}
    if not isinstance(raw, Mapping):
        raise SealedSecretInvalid(f"{field} of the input Secret is not a mapping")
    for key, text in raw.items():
        if not isinstance(text, str):
            kind = "null" if text is None else f"a {type(text).__name__}"
            raise SealedSecretInvalid(
                f"{field}.{key} of the input Secret is {kind}, not a string",
                hint="quote the value in YAML",
            )
    return {str(key): text for key, text in raw.items()}


def _document(
    meta: Document, secret: Mapping[str, Any], encrypted: dict[str, str], scope: Scope
) -> Document:
    outer: Document = {"name": meta["name"]}
    if meta.get("namespace"):
        outer["namespace"] = meta["namespace"]
    if notes := scope_annotations({}, scope):
        outer["annotations"] = notes
    template: Document = {"metadata": meta}
    if secret.get("type"):
        template["type"] = secret["type"]
    if "immutable" in secret:
        template["immutable"] = secret["immutable"]
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": outer,
        "spec": {"encryptedData": encrypted, "template": template},
    }
