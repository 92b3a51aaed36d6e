"""Whole documents: encrypt, decrypt, and the refusals (tampering, wrong or missing key,
SOPS features Conveyor does not implement), each naming the file and never a value."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519

from conveyor.clients.sops import agekeys, document
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules

NOW = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
FLUX_RULE = Rules(encrypted_regex="^(data|stringData)$")
SECRET = "correct-horse-battery"


def secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "stringData": {"username": "app", "password": SECRET},
    }


@pytest.fixture
def identity() -> x25519.Identity:
    return x25519.Identity.generate()


@pytest.fixture
def encrypted(identity: x25519.Identity) -> dict[str, Any]:
    recipient = agekeys.public_key(identity)
    return document.encrypt(secret(), [recipient], rules=FLUX_RULE, now=NOW)


def refusal(doc: dict[str, Any], identities: list[x25519.Identity]) -> SopsError:
    with pytest.raises(SopsError) as caught:
        document.decrypt(doc, identities, source="apps/shop/db.sops.yaml")
    assert "apps/shop/db.sops.yaml" in str(caught.value)
    assert SECRET not in str(caught.value)
    return caught.value


def test_round_trip_keeps_clear_fields_and_adds_the_sops_block(
    encrypted: dict[str, Any], identity: x25519.Identity
) -> None:
    assert encrypted["metadata"] == secret()["metadata"]
    assert encrypted["stringData"]["password"].startswith("ENC[AES256_GCM,")
    block = encrypted["sops"]
    assert list(block) == ["age", "lastmodified", "mac", "encrypted_regex", "version"]
    assert block["lastmodified"] == "2026-03-04T05:06:07Z"
    assert block["age"][0]["enc"].startswith("-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert document.decrypt(encrypted, [identity], source="x") == secret()


def test_any_of_several_recipients_decrypts() -> None:
    first, second = x25519.Identity.generate(), x25519.Identity.generate()
    recipients = [agekeys.public_key(first), agekeys.public_key(second)]
    doc = document.encrypt(secret(), recipients, rules=FLUX_RULE, now=NOW)
    assert document.decrypt(doc, [second], source="x") == secret()


def _swap_values(doc: dict[str, Any]) -> None:
    data = doc["stringData"]
    data["username"], data["password"] = data["password"], data["username"]


def _reorder(doc: dict[str, Any]) -> None:
    doc["stringData"] = dict(reversed(doc["stringData"].items()))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_swap_values, id="values-swapped"),
        pytest.param(_reorder, id="keys-reordered"),
        pytest.param(lambda d: d["metadata"].update(namespace="other"), id="clear-value-edited"),
        pytest.param(lambda d: d["stringData"].pop("username"), id="value-removed"),
        pytest.param(lambda d: d.update(extra="x"), id="value-added"),
        pytest.param(lambda d: d["sops"].update(lastmodified="2026-03-04T05:06:08Z"), id="date"),
        pytest.param(lambda d: d["sops"].update(mac=d["stringData"]["password"]), id="mac"),
    ],
)
def test_a_tampered_file_is_refused_as_a_mac_mismatch(
    encrypted: dict[str, Any], identity: x25519.Identity, tamper: Any
) -> None:
    doc = copy.deepcopy(encrypted)
    tamper(doc)
    assert refusal(doc, [identity]).reason == SopsReason.MAC_MISMATCH


def test_a_key_that_is_not_a_recipient_is_refused(encrypted: dict[str, Any]) -> None:
    error = refusal(encrypted, [x25519.Identity.generate()])
    assert error.reason == SopsReason.WRONG_KEY
    assert encrypted["sops"]["age"][0]["recipient"] in str(error)


def test_no_key_at_all_is_refused(encrypted: dict[str, Any]) -> None:
    assert refusal(encrypted, []).reason == SopsReason.NO_KEY


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pgp", [{"fp": "ABC", "enc": "x", "created_at": "2026-01-01T00:00:00Z"}]),
        ("kms", [{"arn": "arn:aws:kms:x", "enc": "x"}]),
        ("key_groups", [{"age": []}]),
        ("shamir_threshold", 2),
        ("encrypted_comment_regex", "sops:enc"),
        ("surprise", "x"),
    ],
)
def test_unsupported_sops_fields_are_refused_by_name(
    encrypted: dict[str, Any], identity: x25519.Identity, field: str, value: object
) -> None:
    doc = copy.deepcopy(encrypted)
    doc["sops"][field] = value
    error = refusal(doc, [identity])
    assert error.reason == SopsReason.UNSUPPORTED
    assert f"sops.{field}" in str(error)


def test_empty_lists_of_other_key_types_are_accepted(
    encrypted: dict[str, Any], identity: x25519.Identity
) -> None:
    """sops before 3.9 writes `kms: []`, `pgp: []` … for the key types not used."""
    doc = copy.deepcopy(encrypted)
    doc["sops"].update(kms=[], gcp_kms=[], azure_kv=[], hc_vault=[], pgp=[])
    assert document.decrypt(doc, [identity], source="x") == secret()


def test_two_selection_rules_are_refused(
    encrypted: dict[str, Any], identity: x25519.Identity
) -> None:
    doc = copy.deepcopy(encrypted)
    doc["sops"]["unencrypted_suffix"] = "_clear"
    assert refusal(doc, [identity]).reason == SopsReason.MALFORMED


def test_a_key_file_others_can_read_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(str(x25519.Identity.generate()) + "\n")
    path.chmod(0o644)
    with pytest.raises(SopsError, match=r"keys.txt: .*owner only.*0644") as caught:
        agekeys.read_key_file(path)
    assert caught.value.hint == f"chmod 600 {path}"
    path.chmod(0o600)
    assert len(agekeys.read_key_file(path)) == 1


def test_a_bad_line_in_a_key_file_is_named_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text("# created: today\n\nAGE-SECRET-KEY-1NOTAKEY\n")
    path.chmod(0o600)
    with pytest.raises(SopsError, match=r"keys.txt:3: not an age identity") as caught:
        agekeys.read_key_file(path)
    assert "NOTAKEY" not in str(caught.value)
