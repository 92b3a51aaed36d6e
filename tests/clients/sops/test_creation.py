"""`.sops.yaml` creation rules (`clients.sops.creation`): where sops looks for the file,
which rule a path gets, and the refusals that name what Conveyor does not do, with where
it is in the file. Behaviour against the real `sops` binary:
tests/app/test_cmd_secrets_config.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.clients.sops import creation
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules

A = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
B = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"
RULES = f"""\
creation_rules:
  - path_regex: ^clusters/prod/.*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: {B}
  - path_regex: \\.yaml$
    unencrypted_suffix: _plain
    age: [{A}, {B}]
  - age: "{A},  {B},"
"""


def config(tmp_path: Path, text: str = RULES) -> Path:
    path = tmp_path / ".sops.yaml"
    path.write_text(text)
    return path


def test_the_config_is_found_in_the_directory_or_a_parent(tmp_path: Path) -> None:
    path = config(tmp_path)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert creation.find_config(deep) == creation.Found(path)
    assert creation.find_config(tmp_path) == creation.Found(path)


def test_a_sops_yml_is_not_a_config_and_a_warning_says_so(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / ".sops.yml").write_text(RULES)
    found = creation.find_config(inner)
    if found.path is not None:  # a .sops.yaml above the temporary directory: not ours
        pytest.skip(f"{found.path} exists above the test's directory")
    assert ".sops.yml" in found.warning and ".sops.yaml" in found.warning
    used = config(tmp_path)
    both = creation.find_config(inner)
    assert both.path == used and str(used) in both.warning


def test_the_first_matching_rule_is_taken_relative_to_the_config(tmp_path: Path) -> None:
    path = config(tmp_path)
    prod = creation.rule_for(path, tmp_path / "clusters/prod/db.yaml")
    assert prod is not None
    assert prod.recipients == (B,)
    assert prod.rules == Rules(encrypted_regex="^(data|stringData)$") and prod.selects
    assert str(prod.where) == f"{path}:2:5"
    other = creation.rule_for(path, tmp_path / "apps/db.yaml")
    assert other is not None and other.recipients == (A, B)
    assert other.rules == Rules(unencrypted_suffix="_plain")
    fallback = creation.rule_for(path, tmp_path / "notes.txt")
    assert fallback is not None and fallback.recipients == (A, B)
    assert fallback.rules == Rules() and not fallback.selects


def test_a_file_outside_the_config_directory_is_matched_on_its_absolute_path(
    tmp_path: Path,
) -> None:
    (tmp_path / "repo").mkdir()
    path = config(tmp_path / "repo")
    rule = creation.rule_for(path, tmp_path / "clusters/prod/db.yaml")
    assert rule is not None and rule.recipients == (A, B)  # ^clusters/ does not match


def test_key_groups_with_one_age_group_and_mac_only_encrypted(tmp_path: Path) -> None:
    text = f"creation_rules:\n  - key_groups:\n      - age: ['{A}', '{B}']\n"
    text += "    mac_only_encrypted: true\n    encrypted_suffix: _secret\n"
    rule = creation.rule_for(config(tmp_path, text), tmp_path / "x.yaml")
    assert rule is not None and rule.recipients == (A, B)
    assert rule.rules == Rules(encrypted_suffix="_secret", mac_only_encrypted=True)


@pytest.mark.parametrize("text", ["", "# nothing\n", "creation_rules:\n", "stores: {}\n"])
def test_a_config_without_creation_rules_counts_as_none(tmp_path: Path, text: str) -> None:
    assert creation.rule_for(config(tmp_path, text), tmp_path / "x.yaml") is None


def test_no_matching_rule_is_an_error_naming_the_path(tmp_path: Path) -> None:
    path = config(tmp_path, f"creation_rules:\n  - path_regex: ^prod/\n    age: {A}\n")
    with pytest.raises(SopsError) as caught:
        creation.rule_for(path, tmp_path / "dev" / "db.yaml")
    assert caught.value.reason == SopsReason.BAD_CONFIG
    assert str(caught.value).startswith(f"{path}: no creation rule matches dev/db.yaml")


REFUSED = [
    (f"  - pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n    age: {A}\n", 3, 10, "pgp is not"),
    ("  - kms: arn:aws:kms:us-east-1:1:key/x\n", 3, 10, "kms is not supported"),
    ("  - encrypted_comment_regex: ^sops\n", 3, 30, "encrypted_comment_regex is not"),
    (
        f"  - key_groups:\n      - age: [{A}]\n      - age: [{B}]\n",
        4,
        7,
        "only one key group",
    ),
    ("  - key_groups:\n      - pgp: [F00]\n", 4, 14, "key_groups: pgp is not"),
    (f"  - age: {A}\n    key_groups: [{{age: [{B}]}}]\n", 3, 10, "either in the rule or"),
    ("  - path_regex: '['\n", 3, 17, "path_regex is not a regular expression"),
    (f"  - age: {A}\n    encrypted_regex: a\n    unencrypted_suffix: b\n", 3, 5, "one of"),
    ("  - age: 3\n", 3, 10, "age must be a string or a list"),
    ("  - encrypted_regex: [a]\n", 3, 22, "encrypted_regex must be a string"),
    ("  - agee: x\n", 3, 11, "unknown field 'agee'"),
]


@pytest.mark.parametrize(("rule", "line", "col", "message"), REFUSED)
def test_what_conveyor_does_not_do_is_refused_with_where_it_is(
    tmp_path: Path, rule: str, line: int, col: int, message: str
) -> None:
    path = config(tmp_path, "# rules\ncreation_rules:\n" + rule)
    with pytest.raises(SopsError) as caught:
        creation.rule_for(path, tmp_path / "x.yaml")
    assert caught.value.reason == SopsReason.BAD_CONFIG
    assert str(caught.value.location) == f"{path}:{line}:{col}"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stores:\n  yaml:\n    indent: 4\n", "stores: output formatting"),
        ("creation_rule: []\n", "unknown field 'creation_rule'"),
        ("creation_rules: {age: x}\n", "must be a list"),
        ("creation_rules:\n  - age: [\n", "not valid YAML"),
    ],
)
def test_a_config_that_cannot_be_used_says_why(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SopsError) as caught:
        creation.rule_for(config(tmp_path, text), tmp_path / "x.yaml")
    assert message in caught.value.message
    assert caught.value.location is not None and caught.value.location.line >= 1


def test_destination_rules_are_left_to_sops_publish(tmp_path: Path) -> None:
    text = f"destination_rules:\n  - s3_bucket: b\ncreation_rules:\n  - age: {A}\n"
    rule = creation.rule_for(config(tmp_path, text), tmp_path / "x.yaml")
    assert rule is not None and rule.recipients == (A,)
