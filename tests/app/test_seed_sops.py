"""`seed.encrypt_sops_files`: the demo's `*.sops.yaml` Secrets are encrypted before the
seed commit; a `.sops.yaml` (sops' own config, whose name ends the same way) is not."""

from __future__ import annotations

from pathlib import Path

import yaml

from conveyor.app.seed import encrypt_sops_files
from conveyor.clients.sops import document
from tests.clients.sops.agecli import keygen

CONFIG = "creation_rules:\n  - path_regex: \\.sops\\.yaml$\n    encrypted_regex: ^data$\n"


def test_secrets_are_encrypted_and_the_sops_config_is_left_alone(tmp_path: Path) -> None:
    _, recipient = keygen(tmp_path)
    tree = tmp_path / "tree"
    (tree / "base").mkdir(parents=True)
    (tree / ".sops.yaml").write_text(CONFIG)
    secret = tree / "base" / "db.sops.yaml"
    secret.write_text("kind: Secret\nstringData: {password: hunter2}\n")
    encrypt_sops_files(tree, [recipient])
    assert (tree / ".sops.yaml").read_text() == CONFIG
    assert document.is_encrypted(yaml.safe_load(secret.read_text()))
    assert "hunter2" not in secret.read_text()
