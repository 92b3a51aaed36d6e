"""`conveyor secrets encrypt|decrypt` end to end through the CLI, with the encrypted file
checked by the independent implementations: Debian's `age` opens the data key, and
Mozilla's Python sops decrypts the values with it and verifies the MAC."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from conveyor.app.cli import run
from tests.clients.sops.agecli import keygen, run_age
from tests.clients.sops.mozilla import sops as mozilla_sops

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2-not-in-git
"""


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, str]:
    return keygen(tmp_path)


def conveyor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def encrypted_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recipient: str, *flags: str
) -> Path:
    plain = tmp_path / "db.yaml"
    plain.write_text(SECRET)
    code, out, err = conveyor(capsys, "secrets", "encrypt", "--age", recipient, *flags, str(plain))
    assert code == 0, err
    assert "hunter2-not-in-git" not in out
    path = tmp_path / "db.sops.yaml"
    path.write_text(out)
    return path


def test_encrypt_then_decrypt_gives_the_secret_back(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyfile, recipient = key
    path = encrypted_file(tmp_path, capsys, recipient)
    doc = yaml.safe_load(path.read_text())
    assert doc["metadata"] == {"name": "db"}  # Flux's rule: only data/stringData
    assert doc["sops"]["encrypted_regex"] == "^(data|stringData)$"
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keyfile))
    code, out, _ = conveyor(capsys, "secrets", "decrypt", str(path))
    assert code == 0 and yaml.safe_load(out) == yaml.safe_load(SECRET)


def test_age_and_mozilla_sops_open_what_encrypt_all_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: tuple[Path, str]
) -> None:
    keyfile, recipient = key
    doc = yaml.safe_load(encrypted_file(tmp_path, capsys, recipient, "--encrypt-all").read_text())
    data_key = run_age("-d", "-i", str(keyfile), stdin=doc["sops"]["age"][0]["enc"].encode())
    clear = mozilla_sops.walk_and_decrypt(copy.deepcopy(doc), data_key)  # exits on bad MAC
    del clear["sops"]
    assert clear == yaml.safe_load(SECRET)


def test_decrypting_an_edited_file_fails_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyfile, recipient = key
    path = encrypted_file(tmp_path, capsys, recipient)
    path.write_text(path.read_text().replace("name: db", "name: other"))
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keyfile))
    code, out, err = conveyor(capsys, "secrets", "decrypt", str(path))
    assert code == 2 and out == ""
    assert f"{path}: MAC mismatch" in err


def test_a_key_file_open_to_others_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyfile, recipient = key
    path = encrypted_file(tmp_path, capsys, recipient)
    keyfile.chmod(0o640)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keyfile))
    code, _, err = conveyor(capsys, "secrets", "decrypt", str(path))
    assert code == 2 and f"{keyfile}: an age key file must be readable by its owner only" in err


def test_a_file_of_several_documents_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: tuple[Path, str]
) -> None:
    plain = tmp_path / "two.yaml"
    plain.write_text(SECRET + "---\n" + SECRET)
    code, out, err = conveyor(capsys, "secrets", "encrypt", "--age", key[1], str(plain))
    assert code == 2 and out == "" and "holds 2 documents" in err


def test_a_bad_recipient_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "db.yaml"
    plain.write_text(SECRET)
    code, _, err = conveyor(capsys, "secrets", "encrypt", "--age", "age1nope", str(plain))
    assert code == 2 and "'age1nope' is not an age recipient" in err


def test_json_files_stay_json(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyfile, recipient = key
    plain = tmp_path / "db.json"
    plain.write_text(json.dumps(yaml.safe_load(SECRET)))
    code, out, err = conveyor(capsys, "secrets", "encrypt", "--age", recipient, str(plain))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["stringData"]["password"].startswith("ENC[AES256_GCM,")
    path = tmp_path / "db.sops.json"
    path.write_text(out)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keyfile))
    code, out, _ = conveyor(capsys, "secrets", "decrypt", str(path))
    assert code == 0 and json.loads(out) == yaml.safe_load(SECRET)


def test_comments_are_outside_the_mac(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sops writes comments as `#ENC[…,type:comment]` lines and leaves them out of the
    MAC (sops.go: "Only add to MAC if not a comment"), so a file with comments added or
    removed still decrypts."""
    keyfile, recipient = key
    path = encrypted_file(tmp_path, capsys, recipient)
    zeros = "AAAAAAAAAAAAAAAAAAAAAA=="
    comment = f"#ENC[AES256_GCM,data:AAAA,iv:{zeros},tag:{zeros},type:comment]"
    path.write_text(comment + "\n" + path.read_text())
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keyfile))
    code, out, err = conveyor(capsys, "secrets", "decrypt", str(path))
    assert code == 0, err
    assert yaml.safe_load(out) == yaml.safe_load(SECRET)
