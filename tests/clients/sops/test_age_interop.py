"""pyrage's age files against Debian's `age` (the Go reference implementation), both ways:
the data key SOPS wraps for a recipient opens with `age -d`, a data key `age -a -r` wraps
opens here, and `age-keygen`'s identity files are read as sops reads them."""

from __future__ import annotations

import datetime
from pathlib import Path

from conveyor.clients.sops import agekeys, document
from conveyor.clients.sops.tree import Rules
from tests.clients.sops.agecli import keygen, run_age

NOW = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC)
DOC = {"kind": "Secret", "stringData": {"token": "t0ken"}}


def test_age_cli_opens_the_data_key_we_wrap_and_it_decrypts_the_values(tmp_path: Path) -> None:
    keyfile, recipient = keygen(tmp_path)
    doc = document.encrypt(DOC, [recipient], rules=Rules(), now=NOW)
    data_key = run_age("-d", "-i", str(keyfile), stdin=doc["sops"]["age"][0]["enc"].encode())
    assert len(data_key) == 32
    identities = agekeys.read_key_file(keyfile)
    assert agekeys.unwrap(doc["sops"]["age"][0]["enc"], identities) == data_key


def test_we_open_a_data_key_the_age_cli_wrapped(tmp_path: Path) -> None:
    keyfile, recipient = keygen(tmp_path)
    doc = document.encrypt(DOC, [recipient], rules=Rules(), now=NOW)
    identities = agekeys.read_key_file(keyfile)
    data_key = agekeys.unwrap(doc["sops"]["age"][0]["enc"], identities)
    assert data_key is not None
    rewrapped = run_age("-a", "-r", recipient, stdin=data_key).decode()
    assert rewrapped.startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    doc["sops"]["age"][0]["enc"] = rewrapped
    assert document.decrypt(doc, identities, source="x") == DOC


def test_age_keygen_files_read_as_identities_of_their_recipient(tmp_path: Path) -> None:
    keyfile, recipient = keygen(tmp_path)
    assert keyfile.stat().st_mode & 0o077 == 0  # age-keygen writes 0600
    (identity,) = agekeys.read_key_file(keyfile)
    assert agekeys.public_key(identity) == recipient
