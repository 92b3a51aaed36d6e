"""`.sops.yaml` creation rules, as `sops --encrypt` reads them: which age recipients and
which selection rule a new file gets, so that `conveyor secrets encrypt FILE` in a
repository set up for sops writes what `sops --encrypt FILE` writes.

As getsops/sops `config/config.go` does it:

- the config is `--config PATH`, else the first `.sops.yaml` in the current directory or
  one of its parents (at most 100 levels); a `.sops.yml` is not a config file, and sops
  says so in a warning (`Found.warning`);
- a config without `creation_rules` counts as none;
- the file's path is made absolute (`..` resolved) and, when it lies under the config's
  directory, taken relative to it; the first rule whose `path_regex` matches it (searched,
  not anchored) or that has no `path_regex` is the file's rule; none matching is an error,
  even when recipients are given on the command line;
- `age` is a comma-separated string or a list; `key_groups` with one group of `age`
  recipients is the same thing; a rule names at most one selection rule.

Conveyor encrypts for age only: a rule naming PGP, KMS, Vault or plugin keys, several key
groups (Shamir), or comment rules is refused by name with where it is, as are fields sops
does not know and a `stores:` block (output formatting Conveyor does not apply).
`destination_rules` is read by `sops publish` only and is left alone, as sops' encrypt
does. Called by `app.cmd_secrets`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules
from conveyor.core.location import Location

CONFIG_NAME = ".sops.yaml"
ALTERNATE_NAME = ".sops.yml"
MAX_DEPTH = 100
SELECTORS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
OTHER_KEYS = ("pgp", "kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms")
UNSUPPORTED = (
    *OTHER_KEYS,
    "plugins",
    "aws_profile",
    "timeout",
    "shamir_threshold",
    "encrypted_comment_regex",
    "unencrypted_comment_regex",
)
KNOWN = ("path_regex", "age", "key_groups", "mac_only_encrypted", *SELECTORS, *UNSUPPORTED)
_HINT = "Conveyor encrypts for age recipients only: change the rule, or encrypt with sops"


@dataclass(frozen=True, slots=True)
class Found:
    """The config file sops would read (`None`: none), and its warning if any."""

    path: Path | None
    warning: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CreationRule:
    """The rule a file matched: where it is, its recipients (maybe none) and its selection
    fields as `Rules` (`selects` is False when the rule names no selection rule)."""

    where: Location
    recipients: tuple[str, ...]
    rules: Rules
    selects: bool


def find_config(start: Path) -> Found:
    """The `.sops.yaml` in `start` or the nearest parent that has one."""
    here, alternate = start.absolute(), ""
    for _ in range(MAX_DEPTH):
        if (here / CONFIG_NAME).is_file():
            return Found(here / CONFIG_NAME, _ignored(alternate, here / CONFIG_NAME))
        if not alternate and (here / ALTERNATE_NAME).is_file():
            alternate = str(here / ALTERNATE_NAME)
        if here.parent == here:
            break
        here = here.parent
    return Found(None, _ignored(alternate, None))


def _ignored(alternate: str, used: Path | None) -> str:
    if not alternate:
        return ""
    then = f"; using {used}" if used else ""
    return f"ignoring {alternate}: sops reads its config from a file named {CONFIG_NAME}{then}"


def rule_for(config: Path, file: Path) -> CreationRule | None:
    """The creation rule of `config` for `file`; None when `config` has no rules."""
    root = _compose(config)
    if root is None:
        return None
    top = _mapping(root, config, "the config")
    for key, value in top.items():
        if key == "stores" and _plain(value):
            raise _error(config, value, "stores: output formatting is not applied by Conveyor")
        if key not in ("creation_rules", "destination_rules", "stores"):
            raise _error(config, value, f"unknown field {key!r}", hint="remove it")
    rules = top.get("creation_rules")
    if rules is None or _plain(rules) is None:
        return None
    if not isinstance(rules, yaml.SequenceNode):
        raise _error(config, rules, "creation_rules must be a list of rules")
    name = _relative(_absolute(file), _absolute(config.parent))
    for index, node in enumerate(rules.value):
        rule = _mapping(node, config, f"creation_rules[{index}]")
        regex = _text(rule, "path_regex", config)
        if not regex or _compile(regex, rule["path_regex"], config).search(name):
            return _creation_rule(rule, node, config)
    raise SopsError(
        SopsReason.BAD_CONFIG,
        f"no creation rule matches {name}",
        location=Location(file=str(config)),
        hint="add a rule whose path_regex matches it; sops refuses this file too",
    )


def _creation_rule(rule: dict[str, yaml.Node], node: yaml.Node, config: Path) -> CreationRule:
    for key, value in rule.items():
        if key not in KNOWN:
            raise _error(
                config,
                value,
                f"unknown field {key!r} in a creation rule",
                hint="sops ignores fields it does not know: fix the name or remove it",
            )
        if key in UNSUPPORTED and _plain(value):
            raise _error(config, value, f"{key} is not supported", hint=_HINT)
    chosen = {name: text for name in SELECTORS if (text := _text(rule, name, config))}
    if len(chosen) > 1:
        raise _error(config, node, f"a rule may name one of {', '.join(SELECTORS)}: not both")
    mac_only = _plain(rule["mac_only_encrypted"]) if "mac_only_encrypted" in rule else False
    if not isinstance(mac_only, bool | None):
        raise _error(config, rule["mac_only_encrypted"], "mac_only_encrypted must be true/false")
    return CreationRule(
        where=_where(config, node),
        recipients=_recipients(rule, config),
        rules=Rules(**chosen, mac_only_encrypted=bool(mac_only)),
        selects=bool(chosen),
    )


def _recipients(rule: dict[str, yaml.Node], config: Path) -> tuple[str, ...]:
    groups = rule.get("key_groups")
    if groups is None or not _plain(groups):
        return _age_list(rule.get("age"), config)
    if "age" in rule and _plain(rule["age"]):
        raise _error(config, rule["age"], "give age either in the rule or in key_groups")
    if not isinstance(groups, yaml.SequenceNode) or len(groups.value) != 1:
        raise _error(config, groups, "only one key group is supported (no Shamir)", hint=_HINT)
    group = _mapping(groups.value[0], config, "key_groups[0]")
    for key, value in group.items():
        if key != "age":
            raise _error(config, value, f"key_groups: {key} is not supported", hint=_HINT)
    return _age_list(group.get("age"), config)


def _age_list(node: yaml.Node | None, config: Path) -> tuple[str, ...]:
    value = _plain(node) if node is not None else None
    items = [value] if isinstance(value, str) else value or []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise _error(config, node, "age must be a string or a list of strings")
    return tuple(part.strip() for item in items for part in item.split(",") if part.strip())


def _compose(config: Path) -> yaml.Node | None:
    try:
        return yaml.compose(config.read_text(), Loader=yaml.SafeLoader)
    except OSError as exc:
        raise SopsError(SopsReason.BAD_CONFIG, f"{config}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SopsError(
            SopsReason.BAD_CONFIG,
            f"not valid YAML: {getattr(exc, 'problem', exc)}",
            location=_at(config, mark),
        ) from exc


def _mapping(node: yaml.Node, config: Path, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise _error(config, node, f"{what} must be a mapping")
    return {str(_plain(key)): value for key, value in node.value}


def _text(rule: dict[str, yaml.Node], key: str, config: Path) -> str:
    value = _plain(rule[key]) if key in rule else None
    if value is not None and not isinstance(value, str):
        raise _error(config, rule[key], f"{key} must be a string")
    return value or ""


def _compile(regex: str, node: yaml.Node, config: Path) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise _error(config, node, f"path_regex is not a regular expression: {exc}") from exc


def _plain(node: yaml.Node) -> Any:
    """The node's value as plain data (None, a scalar, lists and mappings)."""
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _absolute(path: Path) -> str:
    """`path` made absolute with `..` resolved but symlinks kept, as Go's `filepath.Abs`
    (`Path.resolve` would follow links, `Path.absolute` keeps `..`)."""
    return os.path.abspath(path)  # noqa: PTH100


def _relative(file: str, directory: str) -> str:
    """`file` under `directory` as a relative path; otherwise absolute (both cleaned of `..`,
    as Go's `filepath.Abs` does)."""
    prefix = directory.rstrip(os.sep) + os.sep
    return file[len(prefix) :] if file.startswith(prefix) else file


def _where(config: Path, node: yaml.Node | None) -> Location:
    return _at(config, node.start_mark if node is not None else None)


def _at(config: Path, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file=str(config))
    return Location(file=str(config), line=mark.line + 1, col=mark.column + 1)


def _error(config: Path, node: yaml.Node | None, message: str, *, hint: str = "") -> SopsError:
    return SopsError(
        SopsReason.BAD_CONFIG, message, location=_where(config, node), hint=hint or None
    )
