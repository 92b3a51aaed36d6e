"""Encrypted Secrets and age key files for the SOPS render tests (issue 17)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from conveyor.clients.sops import agekeys, document, files
from conveyor.clients.sops.tree import Rules
from conveyor.targets.base import ObjectRef

PASSWORD = "s0ps-cleartext-never-stored"
SECRET_REF = ObjectRef(group="", kind="Secret", namespace="prod", name="db")
NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.UTC)


def secret(password: str = PASSWORD) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "stringData": {"password": password},
    }


def encrypted(identity: Any, password: str = PASSWORD) -> str:
    recipient = agekeys.public_key(identity)
    rules = Rules(encrypted_regex="^(data|stringData)$")
    return files.dump(
        document.encrypt(secret(password), [recipient], rules=rules, now=NOW), as_json=False
    )


def key_file(tmp_path: Path, identity: Any, mode: int = 0o600) -> Path:
    path = tmp_path / "age.key"
    path.write_text(f"# test key\n{identity}\n")
    path.chmod(mode)
    return path
