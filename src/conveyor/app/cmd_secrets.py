"""`conveyor secrets encrypt|decrypt|updatekeys`: SOPS files with age keys, as `sops`
writes them.

`encrypt FILE` prints the encrypted document to stdout, like `sops --encrypt FILE` (a file
the `sops` tool opens too), or replaces FILE with it (`-i`, as `sops --encrypt -i`).
Recipients and the selection rule come as sops takes them: from the options (`--age
RECIPIENT`, `--encrypted-regex`), else from the creation rule of the `.sops.yaml` in the
current directory or above (or `--config PATH`) that matches the file
(`clients.sops.creation`); a rule without a selection rule encrypts every value, as
sops does. Without any `.sops.yaml`, only the values under `data` and `stringData` are
encrypted, the `encrypted_regex` Flux's guide uses for Secrets, so that reviewers still see
which Secret a file is; `--encrypt-all` encrypts every value. `decrypt FILE` prints the
clear document, with the identities sops would use (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
`~/.config/sops/age/keys.txt`), after checking the MAC. `updatekeys FILE` is
`sops updatekeys`: after a change to the recipients of the file's `.sops.yaml` rule, the
file's data key is wrapped for exactly those (one of the old recipients' identities opens
it), values and MAC unchanged, written in place after showing who comes and goes (`--yes`
skips the question). Implemented by `clients.sops`.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from typing import Any

import click

from conveyor.clients.sops import agekeys, creation, document, files
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules

FLUX_SECRET_REGEX = "^(data|stringData)$"
CONFIG_OPTION = click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The sops config file (default: .sops.yaml here or in a parent directory).",
)


@click.group()
def secrets() -> None:
    """Encrypt and decrypt SOPS files (age keys) for the config repo."""


@secrets.command()
@click.option(
    "--age",
    "recipients",
    multiple=True,
    help="An age recipient (age1…); default: those of the file's rule in .sops.yaml.",
)
@click.option(
    "--encrypted-regex",
    default=None,
    help=f"Encrypt the values under keys matching this (default: the file's rule in "
    f".sops.yaml, else {FLUX_SECRET_REGEX}).",
)
@click.option("--encrypt-all", is_flag=True, help="Encrypt every value (sops' default rule).")
@CONFIG_OPTION
@click.option(
    "--in-place", "-i", "in_place", is_flag=True, help="Replace FILE instead of printing."
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def encrypt(
    *,
    recipients: tuple[str, ...],
    encrypted_regex: str | None,
    encrypt_all: bool,
    config: Path | None,
    in_place: bool,
    file: Path,
) -> None:
    """Print FILE encrypted with SOPS for its age recipients (or replace it: -i)."""
    rule = _creation_rule(config, file)
    recipients = recipients or (rule.recipients if rule else ())
    if not recipients:
        where = f"the rule at {rule.where} names none" if rule else "no .sops.yaml names any"
        raise click.UsageError(f"give --age RECIPIENT: {where}")
    rules = _rules(encrypted_regex, encrypt_all, rule)
    doc = files.load(file.read_text(), source=str(file))
    now = datetime.datetime.now(datetime.UTC)
    out = document.encrypt(doc, recipients, rules=rules, now=now, source=str(file))
    text = files.dump(out, as_json=files.is_json(file.name))
    if in_place:
        _replace(file, text)
    else:
        click.echo(text, nl=False)


def _creation_rule(config: Path | None, file: Path) -> creation.CreationRule | None:
    """FILE's creation rule in `config`, else in the `.sops.yaml` sops would find."""
    found = creation.find_config(Path.cwd()) if config is None else creation.Found(config)
    if found.warning:
        click.echo(f"warning: {found.warning}", err=True)
    return creation.rule_for(found.path, file) if found.path else None


def _rules(
    encrypted_regex: str | None, encrypt_all: bool, rule: creation.CreationRule | None
) -> Rules:
    """The options over the file's creation rule, as sops combines them: an option replaces
    its own field, and two selection rules together are refused."""
    if encrypt_all and encrypted_regex is not None:
        raise click.UsageError("--encrypt-all and --encrypted-regex exclude each other")
    replaced = encrypted_regex is not None and not (rule and rule.rules.encrypted_regex)
    if rule is not None and rule.selects and (encrypt_all or replaced):
        option = "--encrypt-all" if encrypt_all else "--encrypted-regex"
        fields = ", ".join(f"{k}: {v}" for k, v in rule.rules.fields().items())
        raise click.UsageError(f"{option} contradicts the rule at {rule.where} ({fields})")
    mac_only = rule.rules.mac_only_encrypted if rule else False
    if encrypt_all:
        return Rules(mac_only_encrypted=mac_only)
    if encrypted_regex is None:
        return rule.rules if rule else Rules(encrypted_regex=FLUX_SECRET_REGEX)
    try:
        re.compile(encrypted_regex)
    except re.error as exc:
        raise click.BadParameter(f"not a regular expression: {exc}") from exc
    return Rules(encrypted_regex=encrypted_regex, mac_only_encrypted=mac_only)


@secrets.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def decrypt(file: Path) -> None:
    """Print FILE decrypted, after checking its MAC."""
    doc = _encrypted_file(file)
    identities = agekeys.environment_identities(os.environ)
    clear = document.decrypt(doc, identities, source=str(file))
    click.echo(files.dump(clear, as_json=files.is_json(file.name)), nl=False)


@secrets.command()
@click.option("--yes", "-y", is_flag=True, help="Write without asking.")
@CONFIG_OPTION
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def updatekeys(yes: bool, config: Path | None, file: Path) -> None:
    """Wrap FILE's data key for the recipients its .sops.yaml rule names now, in place."""
    rule = _creation_rule(config, file)
    if rule is None or not rule.recipients:
        where = f"the rule at {rule.where} names none" if rule else "no .sops.yaml rule"
        raise click.UsageError(f"{file}: no age recipients to update to: {where}")
    doc = _encrypted_file(file)
    before = document.recipients_of(doc, source=str(file))
    added = [r for r in rule.recipients if r not in before]
    removed = [r for r in before if r not in rule.recipients]
    if not added and not removed:
        click.echo(f"{file}: already up to date")
        return
    for sign, names in (("+", added), ("-", removed)):
        for name in names:
            click.echo(f"  {sign} {name}")
    if not yes:
        click.confirm(f"Update {file}'s keys?", abort=True)
    identities = agekeys.environment_identities(os.environ)
    out = document.rewrap(doc, rule.recipients, identities, source=str(file))
    _replace(file, files.dump(out, as_json=files.is_json(file.name)))
    click.echo(f"{file}: keys updated ({len(added)} added, {len(removed)} removed)")


def _encrypted_file(file: Path) -> dict[str, Any]:
    """FILE's document, which must carry a `sops:` block."""
    doc = files.load(file.read_text(), source=str(file))
    if not document.is_encrypted(doc):
        raise SopsError(SopsReason.MALFORMED, f"{file}: is not SOPS-encrypted (no sops: block)")
    return doc


def _replace(file: Path, text: str) -> None:
    """Write `text` over `file` at once (a temporary file renamed over it, same mode)."""
    temporary = file.with_name(f".{file.name}.conveyor-tmp")
    temporary.write_text(text)
    temporary.chmod(file.stat().st_mode & 0o7777)
    temporary.replace(file)
