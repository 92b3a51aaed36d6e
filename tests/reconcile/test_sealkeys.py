"""Sealing key files (`reconcile.sealkeys`): modes, rotation order, refusals."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.reconcile.sealkeys import KeysUnusable, SealingKeys


def at(minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, 6, 18, minute, tzinfo=dt.UTC)


def test_keygen_writes_a_0600_rsa_4096_key_and_its_certificate(tmp_path: Path) -> None:
    keys = SealingKeys(tmp_path / "keys")
    pair = keys.generate()
    assert stat.S_IMODE(pair.key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.directory.stat().st_mode) == 0o700
    [private] = keys.private_keys()
    assert private.key_size == 4096
    cert = pair.certificate()
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == private.public_key().public_numbers()
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=3650)


def test_rotation_seals_with_the_newest_and_keeps_every_key_for_unsealing(tmp_path: Path) -> None:
    keys = SealingKeys(tmp_path)
    first = keys.generate(bits=2048, clock=lambda: at(1))
    second = keys.generate(bits=2048, clock=lambda: at(2))
    assert keys.active() == second
    assert [p.name for p in keys.pairs()] == [second.name, first.name]
    assert len(keys.private_keys()) == 2


def test_no_key_yet_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(KeysUnusable, match=r"no sealing key in .*conveyor seal keygen"):
        SealingKeys(tmp_path / "none").private_keys()


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    keys = SealingKeys(tmp_path)
    pair = keys.generate(bits=2048)
    pair.key_file.chmod(0o644)
    with pytest.raises(KeysUnusable, match=rf"open to group or others .*chmod 600 {pair.key_file}"):
        keys.private_keys()


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    keys = SealingKeys(tmp_path)
    pair = keys.generate(bits=2048)
    pair.key_file.write_text("not a key")
    with pytest.raises(KeysUnusable, match=f"{pair.key_file} is not a PEM private key"):
        keys.private_keys()
