"""`conveyor secrets encrypt` in a repository with a `.sops.yaml`, beside the real `sops`
binary (getsops/sops 3.11) run on the same files from the same directory: both pick the
same creation rule, so the same recipients, the same selection rule in the `sops:` block
and the same encrypted values, and each decrypts what the other wrote. Where sops refuses
(no rule matches, two selection rules), Conveyor refuses too, saying where.
`updatekeys` after the rule's recipients change: each side reads what the other's
`updatekeys` wrote; values, MAC and lastmodified stay; a tampered file is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.app.cli import run
from conveyor.clients.sops import agekeys, document, files
from tests.app.test_cmd_seal import conveyor as cli
from tests.clients.sops.agecli import keygen
from tests.clients.sops.realsops import run_sops

SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "data": {"password": "aHVudGVyMg=="},
    "stringData": {"user": "app", "note_plain": "kept"},
}
SELECTION = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A repository whose .sops.yaml has a prod rule, a YAML rule and a fallback; the key
    file holds both identities."""
    first, a = keygen(tmp_path, "a.txt")
    second, b = keygen(tmp_path, "b.txt")
    keys = tmp_path / "keys.txt"
    keys.write_text(first.read_text() + second.read_text())
    keys.chmod(0o600)
    root = tmp_path / "repo"
    for name in ("clusters/prod/db.yaml", "apps/db.yaml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(yaml.safe_dump(SECRET, sort_keys=False))
    (root / "notes.json").write_text(json.dumps(SECRET))
    (root / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: ^clusters/prod/.*\\.yaml$\n"
        "    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {b}\n"
        "  - path_regex: \\.yaml$\n"
        "    unencrypted_suffix: _plain\n"
        f"    age: [{a}, {b}]\n"
        f"  - age: '{a}'\n"
    )
    return root, keys, a, b


def conveyor(
    cwd: Path, *args: str, capsys: pytest.CaptureFixture[str], command: str = "encrypt"
) -> tuple[int, str, str]:
    """`conveyor secrets COMMAND ARGS` in process, run from `cwd`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        code = run(["secrets", command, *args])
    out, err = capsys.readouterr()
    return code, out, err


def shape(doc: dict[str, Any]) -> tuple[set[str], set[str], dict[str, Any]]:
    """Which values are encrypted, for whom, under which selection rule."""
    encrypted: set[str] = set()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key != "sops" or path:
                    walk(item, f"{path}/{key}")
        elif isinstance(value, str) and value.startswith("ENC[AES256_GCM,"):
            encrypted.add(path)

    walk(doc, "")
    meta = doc["sops"]
    recipients = {entry["recipient"] for entry in meta["age"]}
    rule = {k: meta[k] for k in (*SELECTION, "mac_only_encrypted") if k in meta}
    return encrypted, recipients, rule


CASES = [
    pytest.param("", "apps/db.yaml", [], id="yaml-rule"),
    pytest.param("clusters", "prod/db.yaml", [], id="prod-rule-from-a-subdirectory"),
    pytest.param("", "clusters/prod/db.yaml", ["--age", "A"], id="age-option-over-the-rule"),
    pytest.param("", "notes.json", [], id="fallback-rule-encrypts-all"),
    pytest.param("", "clusters/prod/db.yaml", ["--encrypted-regex", "^data$"], id="regex-option"),
]


@pytest.mark.parametrize(("where", "name", "options"), CASES)
def test_conveyor_and_sops_pick_the_same_rule(
    repo: tuple[Path, Path, str, str],
    capsys: pytest.CaptureFixture[str],
    where: str,
    name: str,
    options: list[str],
) -> None:
    root, keys, a, _ = repo
    options = [a if o == "A" else o for o in options]
    cwd = root / where
    theirs = run_sops("--encrypt", *options, name, cwd=cwd).stdout
    code, ours, err = conveyor(cwd, *options, name, capsys=capsys)
    assert code == 0, err
    source = root / where / name
    their_doc = files.load(theirs, source=str(source))
    our_doc = files.load(ours, source=str(source))
    assert shape(our_doc) == shape(their_doc)
    assert shape(our_doc)[0], "the rule encrypted nothing: the case proves nothing"
    (root / "ours.enc").write_text(ours)
    clear = run_sops(
        "--decrypt", "--input-type", "json" if name.endswith(".json") else "yaml",
        "--output-type", "json", str(root / "ours.enc"), key_file=keys,
    ).stdout  # fmt: skip
    assert json.loads(clear) == SECRET
    assert document.decrypt(their_doc, agekeys.read_key_file(keys), source=name) == SECRET


def test_a_config_given_by_option_is_matched_like_sops(
    repo: tuple[Path, Path, str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, _, _, b = repo
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config, name = str(root / ".sops.yaml"), "../repo/clusters/prod/db.yaml"
    theirs = run_sops("--config", config, "--encrypt", name, cwd=elsewhere).stdout
    code, ours, err = conveyor(elsewhere, "--config", config, name, capsys=capsys)
    assert code == 0, err
    mine, their = files.load(ours, source=name), files.load(theirs, source=name)
    assert shape(mine) == shape(their)
    assert shape(mine)[1] == {b} and shape(mine)[2] == {"encrypted_regex": "^(data|stringData)$"}


def test_where_sops_refuses_conveyor_refuses_and_says_where(
    repo: tuple[Path, Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _, a, _ = repo
    config = root / ".sops.yaml"
    config.write_text(config.read_text().replace(f"  - age: '{a}'\n", ""))
    (root / "notes.txt").write_text("password: x\n")
    refused = run_sops("--encrypt", "--age", a, "notes.txt", cwd=root, check=False)
    assert "no matching creation rules" in refused.stderr
    code, out, err = conveyor(root, "--age", a, "notes.txt", capsys=capsys)
    assert code != 0 and out == ""
    assert f"{config}: no creation rule matches notes.txt" in err

    both = ["--encrypted-regex", "^data$", "apps/db.yaml"]
    assert run_sops("--encrypt", *both, cwd=root, check=False).returncode != 0
    code, out, err = conveyor(root, *both, capsys=capsys)
    assert code == 2 and out == ""
    assert f"contradicts the rule at {config}:5:5 (unencrypted_suffix: _plain)" in err


def updated(repo: tuple[Path, Path, str, str], recipients: str) -> Path:
    """The repository's .sops.yaml reduced to one rule naming `recipients`."""
    root = repo[0]
    (root / ".sops.yaml").write_text(
        f"creation_rules:\n  - encrypted_regex: ^(data|stringData)$\n    age: {recipients}\n"
    )
    return root


def test_updatekeys_moves_a_sops_file_to_the_rules_new_recipients(
    repo: tuple[Path, Path, str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real sops wrote the file for A; the rule now names B. Conveyor's updatekeys keeps
    values, MAC and lastmodified; sops then opens it with B's key alone and not with A's."""
    root, _, a, b = repo
    key_a, key_b = tmp_path / "a.txt", tmp_path / "b.txt"  # one identity each, 0600
    updated(repo, a)
    written = run_sops("--encrypt", "apps/db.yaml", cwd=root).stdout
    (root / "apps/db.enc.yaml").write_text(written)
    updated(repo, b)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_a))
    code, out, err = conveyor(
        root, "--yes", "apps/db.enc.yaml", capsys=capsys, command="updatekeys"
    )
    assert code == 0, err
    assert f"+ {b}" in out and f"- {a}" in out and "1 added, 1 removed" in out
    before, after = yaml.safe_load(written), yaml.safe_load((root / "apps/db.enc.yaml").read_text())
    assert [s["recipient"] for s in after["sops"]["age"]] == [b]
    for field in ("mac", "lastmodified"):
        assert after["sops"][field] == before["sops"][field]
    assert after["data"] == before["data"] and after["stringData"] == before["stringData"]
    opened = run_sops("--decrypt", str(root / "apps/db.enc.yaml"), key_file=key_b).stdout
    assert yaml.safe_load(opened) == SECRET
    refused = run_sops("--decrypt", str(root / "apps/db.enc.yaml"), key_file=key_a, check=False)
    assert refused.returncode != 0


def test_conveyor_reads_what_sops_updatekeys_wrote(
    repo: tuple[Path, Path, str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, _, a, b = repo
    updated(repo, a)
    code, ours, err = conveyor(root, "apps/db.yaml", capsys=capsys)
    assert code == 0, err
    (root / "apps/db.enc.yaml").write_text(ours)
    updated(repo, f"{a},{b}")
    run_sops("updatekeys", "--yes", "apps/db.enc.yaml", cwd=root, key_file=tmp_path / "a.txt")
    doc = files.load((root / "apps/db.enc.yaml").read_text(), source="db.enc.yaml")
    assert set(document.recipients_of(doc, source="db")) == {a, b}
    key_b = agekeys.read_key_file(tmp_path / "b.txt")
    assert document.decrypt(doc, key_b, source="db") == SECRET


def test_updatekeys_refuses_a_tampered_file_and_asks_before_writing(
    repo: tuple[Path, Path, str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _, a, b = repo
    updated(repo, a)
    code, ours, err = conveyor(root, "apps/db.yaml", capsys=capsys)
    assert code == 0, err
    target = root / "apps/db.enc.yaml"
    target.write_text(ours.replace("name: db", "name: other"))
    updated(repo, b)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "a.txt"))
    tampered = target.read_text()
    done = cli("secrets", "updatekeys", "--yes", "apps/db.enc.yaml", cwd=root)
    assert done.returncode != 0 and "MAC mismatch" in done.stderr
    assert target.read_text() == tampered
    target.write_text(ours)
    done = cli("secrets", "updatekeys", "apps/db.enc.yaml", cwd=root)  # no answer: EOF
    assert done.returncode != 0 and f"+ {b}" in done.stdout
    assert target.read_text() == ours
    done = cli("secrets", "updatekeys", "apps/db.enc.yaml", cwd=root, stdin="y\n")
    assert done.returncode == 0, done.stderr
    done = cli("secrets", "updatekeys", "apps/db.enc.yaml", cwd=root)
    assert done.returncode == 0 and "already up to date" in done.stdout


def test_encrypt_in_place_replaces_the_file_as_sops_i_does(
    repo: tuple[Path, Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, keys, _, b = repo
    target = root / "clusters/prod/db.yaml"
    target.chmod(0o640)
    code, out, err = conveyor(root, "-i", "clusters/prod/db.yaml", capsys=capsys)
    assert code == 0, err
    assert out == ""
    assert target.stat().st_mode & 0o777 == 0o640
    doc = files.load(target.read_text(), source="db.yaml")
    assert shape(doc)[1] == {b}  # the prod rule, matched on the file's own path
    assert "aHVudGVyMg==" not in target.read_text()  # the clear value, as base64
    clear = run_sops("--decrypt", str(target), key_file=keys).stdout
    assert yaml.safe_load(clear) == SECRET
    encrypted = target.read_text()
    code, _, err = conveyor(root, "-i", "clusters/prod/db.yaml", capsys=capsys)
    assert code != 0 and "already SOPS-encrypted" in err
    assert target.read_text() == encrypted
