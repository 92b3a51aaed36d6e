"""Conveyor's Sealed Secrets against a second, independent implementation: the npm package
`@socialgouv/aes-gcm-rsa-oaep` (SocialGouv's webseal, WebCrypto) and a decryption written
with node's `crypto` (`tests/core/webseal.py`).

* vectors the package sealed once (`tests/fixtures/sealedsecrets`) are unsealed by
  Conveyor, in all three scopes, without node;
* the package seals now, with the certificate of a key `conveyor seal keygen` would write,
  and Conveyor unseals;
* Conveyor seals, and the package's `HybridDecrypt` and node's crypto decrypt.
Skipped without node and the package, except under `CI=true` (then they fail).
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealedsecret, sealing, unsealing
from conveyor.core.sealedsecret import SealedSecretInvalid
from conveyor.core.sealing import Scope
from conveyor.reconcile.sealkeys import SealingKeys
from tests.core import webseal

VECTORS = Path(__file__).parents[1] / "fixtures" / "sealedsecrets"
VALUES = {
    "password": "webseal-vector-p4ss",
    "url": "postgres://app@db:5432/app?sslmode=require",
    "unicode": "clé-секрет-🔑",
}
PACKAGE_SCOPES = {
    "strict": Scope.STRICT,
    "namespace": Scope.NAMESPACE_WIDE,
    "cluster": Scope.CLUSTER_WIDE,
}


def vector_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((VECTORS / "key.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def plain(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


@pytest.mark.parametrize("scope", sorted(PACKAGE_SCOPES))
def test_recorded_webseal_vectors_unseal(scope: str) -> None:
    doc = yaml.safe_load((VECTORS / f"webseal-{scope}.yaml").read_text())
    secret = unsealing.unseal(doc, [vector_key()])
    assert plain(secret) == VALUES
    assert secret["metadata"]["name"] == "db"
    assert secret["metadata"]["namespace"] == "prod"


@pytest.mark.parametrize(
    ("scope", "opens"), [("strict", False), ("namespace", True), ("cluster", True)]
)
def test_recorded_webseal_vectors_renamed_follow_the_scope(scope: str, opens: bool) -> None:
    doc = yaml.safe_load((VECTORS / f"webseal-{scope}.yaml").read_text())
    doc["metadata"]["name"] = "renamed"
    if opens:
        assert plain(unsealing.unseal(doc, [vector_key()])) == VALUES
    else:
        with pytest.raises(SealedSecretInvalid, match="SealedSecret prod/renamed"):
            unsealing.unseal(doc, [vector_key()])


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> SealingKeys:
    webseal.require_node()  # skip (or fail under CI) before the slow key generation
    keys = SealingKeys(tmp_path_factory.mktemp("seal") / "keys")
    keys.generate()  # RSA-4096, as `conveyor seal keygen`
    return keys


@pytest.mark.parametrize("scope", sorted(PACKAGE_SCOPES))
def test_package_seals_and_conveyor_unseals(keys: SealingKeys, scope: str) -> None:
    cert = keys.active().certificate_pem().decode()
    request = {"op": "seal", "cert": cert, "scope": scope, "namespace": "prod", "name": "db"}
    [doc] = webseal.run([{**request, "values": VALUES}])
    assert "err" not in doc, doc
    assert sealedsecret.scope_of(doc["metadata"].get("annotations")) is PACKAGE_SCOPES[scope]
    assert plain(unsealing.unseal(doc, keys.private_keys())) == VALUES


def test_package_sealed_strict_value_moved_to_another_namespace_fails(keys: SealingKeys) -> None:
    cert = keys.active().certificate_pem().decode()
    request = {"op": "seal", "cert": cert, "scope": "strict", "namespace": "prod", "name": "db"}
    [doc] = webseal.run([{**request, "values": VALUES}])
    moved = copy.deepcopy(doc)
    moved["metadata"]["namespace"] = "staging"
    with pytest.raises(SealedSecretInvalid, match="SealedSecret staging/db: cannot unseal"):
        unsealing.unseal(moved, keys.private_keys())


def private_pem(keys: SealingKeys) -> str:
    return keys.active().key_file.read_text()


@pytest.mark.parametrize("scope", list(Scope))
def test_conveyor_seals_and_both_independent_decryptions_open(
    keys: SealingKeys, scope: Scope
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "stringData": VALUES,
    }
    public = keys.active().certificate().public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    doc = sealedsecret.seal(secret, public, scope=scope)
    label = sealing.label(scope, namespace="prod", name="db").decode()
    requests = [
        {"op": op, "key": private_pem(keys), "label": label, "blob": blob}
        for blob in doc["spec"]["encryptedData"].values()
        for op in ("open-lib", "open-node")
    ]
    answers = webseal.run(requests)
    names = list(doc["spec"]["encryptedData"])
    by_lib = {n: a["text"] for n, a in zip(names, answers[0::2], strict=True)}
    by_node = {
        n: base64.b64decode(a["base64"]).decode() for n, a in zip(names, answers[1::2], strict=True)
    }
    assert by_lib == VALUES
    assert by_node == VALUES


def test_independent_decryption_refuses_a_wrong_label(keys: SealingKeys) -> None:
    """The node side is no rubber stamp: the strict label of another object fails there too."""
    public = keys.active().certificate().public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    blob = base64.b64encode(sealing.encrypt(public, b"x", b"prod/db")).decode()
    request = {"key": private_pem(keys), "label": "prod/other", "blob": blob}
    answers = webseal.run([{"op": "open-lib", **request}, {"op": "open-node", **request}])
    assert all("err" in a for a in answers), answers
