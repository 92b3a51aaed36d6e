"""The tree walk and its MAC against Mozilla's original Python sops (`walk_and_encrypt`,
`walk_and_decrypt`: same paths as additional data, same SHA-512 over the values in order,
MAC encrypted under `lastmodified`), and the selection rules of sops 3 (`sops.go`
`shouldBeEncrypted`), which the Python original predates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conveyor.clients.sops.metadata import rfc3339
from conveyor.clients.sops.tree import Rules, decrypt_tree, encrypt_tree
from conveyor.clients.sops.values import decrypt_value, encrypt_value, is_encrypted
from tests.clients.sops.mozilla import sops as mozilla_sops

KEY = bytes(range(32, 64))
LASTMODIFIED = "2026-01-02T03:04:05Z"


def sample() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "labels": {"tier": "data"}},
        "stringData": {"password": "hunter2", "port": 5432, "ratio": 0.25, "on": True},
        "list": ["a", {"nested": "b"}, ["c"]],
        "note_unencrypted": "kept",
        "empty": "",
    }


def test_mozilla_sops_decrypts_our_tree_and_verifies_our_mac() -> None:
    body, mac = encrypt_tree(sample(), KEY, Rules())
    body["sops"] = {
        "lastmodified": LASTMODIFIED,
        "mac": encrypt_value(mac, KEY, LASTMODIFIED),
    }
    clear = mozilla_sops.walk_and_decrypt(copy.deepcopy(body), KEY)  # exits on a bad MAC
    del clear["sops"]
    assert clear == sample()


def test_we_decrypt_mozilla_sops_tree_and_our_mac_matches_its() -> None:
    tree = sample() | {"sops": {}}
    encrypted = mozilla_sops.walk_and_encrypt(copy.deepcopy(tree), KEY)
    meta = encrypted.pop("sops")
    clear, mac = decrypt_tree(encrypted, KEY, Rules())
    assert clear == sample()
    assert decrypt_value(meta["mac"], KEY, rfc3339(meta["lastmodified"], "t")) == mac


def test_the_default_rule_leaves_unencrypted_suffix_keys_clear() -> None:
    body, _ = encrypt_tree(sample(), KEY, Rules())
    assert body["note_unencrypted"] == "kept"
    assert is_encrypted(body["kind"]) and is_encrypted(body["list"][1]["nested"])
    assert body["empty"] == ""


def test_null_is_left_alone_and_not_hashed() -> None:
    """Go's walkValue returns nil unchanged (the Python original turned it into "")."""
    body, mac = encrypt_tree({"a": "x", "b": None}, KEY, Rules())
    _, mac_without = encrypt_tree({"a": "x"}, KEY, Rules())
    assert body["b"] is None and mac == mac_without


@pytest.mark.parametrize(
    ("rules", "clear_paths"),
    [
        (Rules(encrypted_regex="^(data|stringData)$"), {"apiVersion", "kind", "name", "tier"}),
        (
            Rules(unencrypted_regex="^(apiVersion|kind|metadata)$"),
            {"apiVersion", "kind", "name", "tier"},
        ),
        (Rules(encrypted_suffix="Data"), {"apiVersion", "kind", "name", "tier"}),
        (Rules(unencrypted_suffix="Version"), {"apiVersion"}),
    ],
)
def test_selection_rules_choose_what_is_encrypted(rules: Rules, clear_paths: set[str]) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "labels": {"tier": "x"}},
        "stringData": {"password": "p"},
    }
    body, _ = encrypt_tree(doc, KEY, rules)
    leaves = {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "tier": body["metadata"]["labels"]["tier"],
        "password": body["stringData"]["password"],
    }
    assert {k for k, v in leaves.items() if not is_encrypted(v)} == clear_paths & set(leaves)
    assert is_encrypted(leaves["password"]) or "password" in clear_paths


def test_mac_covers_clear_values_unless_mac_only_encrypted() -> None:
    doc = {"kind": "Secret", "stringData": {"password": "p"}}
    changed = {"kind": "Other", "stringData": {"password": "p"}}
    regex = "^stringData$"
    _, mac = encrypt_tree(doc, KEY, Rules(encrypted_regex=regex))
    _, mac_changed = encrypt_tree(changed, KEY, Rules(encrypted_regex=regex))
    assert mac != mac_changed
    only = Rules(encrypted_regex=regex, mac_only_encrypted=True)
    _, a = encrypt_tree(doc, KEY, only)
    _, b = encrypt_tree(changed, KEY, only)
    assert a == b != mac
