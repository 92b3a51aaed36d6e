"""SealedSecret documents (`core.sealedsecret`, `core.unsealing`): what `seal` writes,
what `unseal` accepts and refuses, with the scope rules of the controller (label from the
SealedSecret's own name, namespace and annotations)."""

from __future__ import annotations

import base64
import copy
import functools
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core import sealedsecret, unsealing
from conveyor.core.sealedsecret import CLUSTER_WIDE, NAMESPACE_WIDE, SealedSecretInvalid
from conveyor.core.sealing import Scope

VALUE = "pa55-w0rd-that-must-not-leak"


@functools.cache
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def secret(**meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod", **meta},
        "type": "kubernetes.io/basic-auth",
        "data": {"username": base64.b64encode(b"admin").decode()},
        "stringData": {"password": VALUE},
    }


def sealed(scope: Scope | None = None, **meta: Any) -> dict[str, Any]:
    return sealedsecret.seal(secret(**meta), key().public_key(), scope=scope)


def test_seal_writes_a_sealedsecret_with_the_template_and_no_plain_value() -> None:
    doc = sealed(labels={"app": "web"}, uid="123", resourceVersion="9")
    assert doc["apiVersion"] == "bitnami.com/v1alpha1"
    assert doc["kind"] == "SealedSecret"
    assert doc["metadata"] == {"name": "db", "namespace": "prod"}
    assert sorted(doc["spec"]["encryptedData"]) == ["password", "username"]
    template = doc["spec"]["template"]
    assert template["type"] == "kubernetes.io/basic-auth"
    assert template["metadata"] == {"name": "db", "namespace": "prod", "labels": {"app": "web"}}
    assert VALUE not in str(doc)


def test_seal_drops_last_applied_configuration_and_owner_references() -> None:
    notes = {"kubectl.kubernetes.io/last-applied-configuration": f'{{"p":"{VALUE}"}}', "a": "b"}
    doc = sealed(annotations=notes, ownerReferences=[{"name": "x"}])
    assert doc["spec"]["template"]["metadata"]["annotations"] == {"a": "b"}
    assert "ownerReferences" not in doc["spec"]["template"]["metadata"]
    assert VALUE not in str(doc)


@pytest.mark.parametrize(
    ("scope", "annotations"),
    [
        (Scope.STRICT, None),
        (Scope.NAMESPACE_WIDE, {NAMESPACE_WIDE: "true"}),
        (Scope.CLUSTER_WIDE, {CLUSTER_WIDE: "true"}),
    ],
)
def test_scope_is_annotated_on_the_sealedsecret(scope: Scope, annotations: Any) -> None:
    doc = sealed(scope)
    assert doc["metadata"].get("annotations") == annotations
    assert sealedsecret.scope_of(doc["metadata"].get("annotations")) is scope


def test_scope_comes_from_the_secrets_annotations_when_none_is_given() -> None:
    doc = sealed(annotations={CLUSTER_WIDE: "true"})
    assert doc["metadata"]["annotations"] == {CLUSTER_WIDE: "true"}


def test_unseal_gives_back_the_secret_with_template_metadata_and_type() -> None:
    out = unsealing.unseal(sealed(labels={"app": "web"}), [key()])
    assert out["metadata"] == {"name": "db", "namespace": "prod", "labels": {"app": "web"}}
    assert out["type"] == "kubernetes.io/basic-auth"
    assert base64.b64decode(out["data"]["password"]).decode() == VALUE
    assert base64.b64decode(out["data"]["username"]) == b"admin"


def moved(doc: dict[str, Any], *, namespace: str = "prod", name: str = "db") -> dict[str, Any]:
    copied = copy.deepcopy(doc)
    copied["metadata"].update(namespace=namespace, name=name)
    return copied


@pytest.mark.parametrize(
    ("scope", "namespace", "name", "opens"),
    [
        (Scope.STRICT, "staging", "db", False),
        (Scope.STRICT, "prod", "db2", False),
        (Scope.NAMESPACE_WIDE, "prod", "db2", True),
        (Scope.NAMESPACE_WIDE, "staging", "db", False),
        (Scope.CLUSTER_WIDE, "staging", "other", True),
    ],
)
def test_moving_a_sealedsecret_follows_the_scope_rules(
    scope: Scope, namespace: str, name: str, opens: bool
) -> None:
    doc = moved(sealed(scope), namespace=namespace, name=name)
    if opens:
        out = unsealing.unseal(doc, [key()])
        assert out["metadata"]["namespace"] == namespace
        assert out["metadata"]["name"] == name
        return
    with pytest.raises(SealedSecretInvalid) as caught:
        unsealing.unseal(doc, [key()])
    text = str(caught.value)
    assert f"SealedSecret {namespace}/{name}" in text
    assert "renamed or moved to another namespace" in text
    assert VALUE not in text


def test_removing_the_scope_annotation_does_not_widen_the_scope() -> None:
    """The label is part of the ciphertext: claiming cluster-wide on a strict value fails."""
    doc = sealed(Scope.STRICT)
    doc["metadata"]["annotations"] = {CLUSTER_WIDE: "true"}
    with pytest.raises(SealedSecretInvalid, match="cannot unseal encryptedData"):
        unsealing.unseal(doc, [key()])


@pytest.mark.parametrize(
    ("spec_patch", "message"),
    [
        ({"data": "AAAA"}, "deprecated spec.data"),
        ({"template": {"data": {"url": "{{ .password }}"}}}, "spec.template.data"),
        ({"encryptedData": {"password": "not base64!"}}, "not valid base64"),
        ({"encryptedData": ["password"]}, "SealedSecret prod/db: encryptedData is not a mapping"),
        ({"template": "Opaque"}, "SealedSecret prod/db: template is not a mapping"),
    ],
)
def test_unseal_refuses_what_it_cannot_do(spec_patch: dict[str, Any], message: str) -> None:
    doc = sealed()
    doc["spec"].update(spec_patch)
    with pytest.raises(SealedSecretInvalid, match=message):
        unsealing.unseal(doc, [key()])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "ConfigMap"}, "not a v1 Secret"),
        ({"metadata": {"namespace": "prod"}}, "missing metadata.name"),
        ({"metadata": {"name": "db"}}, "no metadata.namespace"),
        ({"data": {"k": "%%%"}}, "data.k of the input Secret is not valid base64"),
        ({"data": {}, "stringData": {}}, "no data and no stringData"),
        ({"stringData": {"debug": True}}, "stringData.debug of the input Secret is a bool"),
        ({"data": {"k": None}}, "data.k of the input Secret is null"),
        ({"stringData": ["a"]}, "stringData of the input Secret is not a mapping"),
    ],
)
def test_seal_refuses_bad_input_saying_what_to_do(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SealedSecretInvalid, match=message):
        sealedsecret.seal({**secret(), **change}, key().public_key())


def test_a_cluster_wide_secret_needs_no_namespace() -> None:
    doc = sealedsecret.seal(
        {**secret(), "metadata": {"name": "db"}}, key().public_key(), scope=Scope.CLUSTER_WIDE
    )
    assert "namespace" not in doc["metadata"]
    assert unsealing.unseal(doc, [key()])["metadata"] == {
        "name": "db",
        "annotations": {CLUSTER_WIDE: "true"},
    }


def test_reseal_seals_every_value_for_the_new_key_in_the_same_scope() -> None:
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old = sealed(Scope.NAMESPACE_WIDE, labels={"app": "web"})
    old["metadata"]["resourceVersion"] = "7"
    old["status"] = {"conditions": []}
    again = unsealing.reseal(old, [key()], new.public_key())
    assert again["spec"]["template"] == old["spec"]["template"]
    assert again["metadata"]["annotations"] == {NAMESPACE_WIDE: "true"}
    assert "resourceVersion" not in again["metadata"] and "status" not in again
    assert again["spec"]["encryptedData"].keys() == old["spec"]["encryptedData"].keys()
    out = unsealing.unseal(again, [new])  # the new key alone opens it
    assert base64.b64decode(out["data"]["password"]).decode() == VALUE
    with pytest.raises(SealedSecretInvalid):
        unsealing.unseal(again, [key()])
