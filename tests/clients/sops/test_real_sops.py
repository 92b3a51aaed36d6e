"""Round trips with the real `sops` binary (getsops/sops 3.11): it decrypts, with its MAC
check, what Conveyor encrypts, and Conveyor decrypts and verifies what it encrypts, for
each selection rule sops offers, YAML and JSON; both refuse the same tampering."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.clients.sops import agekeys, document, files
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules
from tests.clients.sops.agecli import keygen
from tests.clients.sops.realsops import run_sops

DOC: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "labels": {"tier": "data"}},
    "type": "Opaque",
    "stringData": {"password": "hunter2", "port": 5432, "ratio": 0.25, "on": True},
    "list": ["a", {"nested": "b"}],
    "note_unencrypted": "kept",
    "empty": "",
}
NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.UTC)
RULES = [
    pytest.param(Rules(), [], id="default"),
    pytest.param(
        Rules(encrypted_regex="^(data|stringData)$"),
        ["--encrypted-regex", "^(data|stringData)$"],
        id="encrypted_regex",
    ),
    pytest.param(
        Rules(unencrypted_regex="^(kind|metadata)$"),
        ["--unencrypted-regex", "^(kind|metadata)$"],
        id="unencrypted_regex",
    ),
    pytest.param(Rules(encrypted_suffix="Data"), ["--encrypted-suffix", "Data"], id="enc_suffix"),
    pytest.param(
        Rules(unencrypted_suffix="_unencrypted"),
        ["--unencrypted-suffix", "_unencrypted"],
        id="unencrypted_suffix",
    ),
    pytest.param(
        Rules(encrypted_regex="^stringData$", mac_only_encrypted=True),
        ["--encrypted-regex", "^stringData$", "--mac-only-encrypted"],
        id="mac_only_encrypted",
    ),
]


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, str]:
    return keygen(tmp_path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize(("rules", "flags"), RULES)
def test_real_sops_decrypts_what_we_encrypt(
    tmp_path: Path, key: tuple[Path, str], rules: Rules, flags: list[str], suffix: str
) -> None:
    keyfile, recipient = key
    encrypted = document.encrypt(DOC, [recipient], rules=rules, now=NOW)
    path = tmp_path / f"db.enc{suffix}"
    path.write_text(files.dump(encrypted, as_json=suffix == ".json"))
    clear = run_sops("--decrypt", str(path), key_file=keyfile).stdout
    assert (json.loads(clear) if suffix == ".json" else yaml.safe_load(clear)) == DOC


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize(("rules", "flags"), RULES)
def test_we_decrypt_what_real_sops_encrypts(
    tmp_path: Path, key: tuple[Path, str], rules: Rules, flags: list[str], suffix: str
) -> None:
    keyfile, recipient = key
    plain = tmp_path / f"db{suffix}"
    plain.write_text(json.dumps(DOC) if suffix == ".json" else yaml.safe_dump(DOC))
    out = run_sops("--encrypt", "--age", recipient, *flags, str(plain)).stdout
    doc = files.load(out, source=f"db.enc{suffix}")
    assert doc["sops"]["version"] == "3.11.0"
    assert document.decrypt(doc, agekeys.read_key_file(keyfile), source="db") == DOC


def test_encrypted_comments_of_real_sops_are_outside_the_mac(
    tmp_path: Path, key: tuple[Path, str]
) -> None:
    keyfile, recipient = key
    plain = tmp_path / "db.yaml"
    plain.write_text("# who may read this\n" + yaml.safe_dump(DOC))
    out = run_sops("--encrypt", "--age", recipient, str(plain)).stdout
    assert out.startswith("#ENC[AES256_GCM,") and "type:comment]" in out
    doc = files.load(out, source="db.enc.yaml")
    assert document.decrypt(doc, agekeys.read_key_file(keyfile), source="db") == DOC


def test_both_refuse_the_same_tampering(tmp_path: Path, key: tuple[Path, str]) -> None:
    keyfile, recipient = key
    plain = tmp_path / "db.yaml"
    plain.write_text(yaml.safe_dump(DOC))
    flags = ["--encrypted-regex", "^(data|stringData)$"]
    out = run_sops("--encrypt", "--age", recipient, *flags, str(plain)).stdout
    tampered = tmp_path / "db.enc.yaml"
    tampered.write_text(out.replace("tier: data", "tier: other"))
    refused = run_sops("--decrypt", str(tampered), key_file=keyfile, check=False)
    assert refused.returncode != 0 and "MAC mismatch" in refused.stderr
    doc = files.load(tampered.read_text(), source="db.enc.yaml")
    with pytest.raises(SopsError) as caught:
        document.decrypt(doc, agekeys.read_key_file(keyfile), source="db.enc.yaml")
    assert caught.value.reason == SopsReason.MAC_MISMATCH


def test_real_sops_refuses_our_file_under_another_key(
    tmp_path: Path, key: tuple[Path, str]
) -> None:
    _, recipient = key
    other, _ = keygen(tmp_path, "other.txt")
    path = tmp_path / "db.enc.yaml"
    encrypted = document.encrypt(DOC, [recipient], rules=Rules(), now=NOW)
    path.write_text(files.dump(encrypted, as_json=False))
    refused = run_sops("--decrypt", str(path), key_file=other, check=False)
    assert refused.returncode != 0
