"""`conveyor secrets encrypt|decrypt`: SOPS files with age keys, as `sops` writes them.

`encrypt --age RECIPIENT FILE` prints the encrypted document to stdout, like
`sops --encrypt --age RECIPIENT FILE` (a file the `sops` tool opens too). By default
only the values under `data` and `stringData` are encrypted, the `encrypted_regex` Flux's
guide uses for Secrets, so that reviewers still see which Secret a file is;
`--encrypted-regex` chooses another rule and `--encrypt-all` encrypts every value, as sops
does without a rule. `decrypt FILE` prints the clear document, with the identities sops
would use (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `~/.config/sops/age/keys.txt`), after
checking the MAC. Implemented by `clients.sops`.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import click

from conveyor.clients.sops import agekeys, document, files
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules

FLUX_SECRET_REGEX = "^(data|stringData)$"


@click.group()
def secrets() -> None:
    """Encrypt and decrypt SOPS files (age keys) for the config repo."""


@secrets.command()
@click.option("--age", "recipients", multiple=True, required=True, help="An age recipient (age1…).")
@click.option(
    "--encrypted-regex",
    default=None,
    help=f"Encrypt the values under keys matching this (default {FLUX_SECRET_REGEX}).",
)
@click.option("--encrypt-all", is_flag=True, help="Encrypt every value (sops' default rule).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def encrypt(
    recipients: tuple[str, ...], encrypted_regex: str | None, encrypt_all: bool, file: Path
) -> None:
    """Print FILE encrypted with SOPS for every --age recipient."""
    rules = _rules(encrypted_regex, encrypt_all)
    doc = files.load(file.read_text(), source=str(file))
    now = datetime.datetime.now(datetime.UTC)
    out = document.encrypt(doc, recipients, rules=rules, now=now, source=str(file))
    click.echo(files.dump(out, as_json=files.is_json(file.name)), nl=False)


def _rules(encrypted_regex: str | None, encrypt_all: bool) -> Rules:
    if encrypt_all and encrypted_regex is not None:
        raise click.UsageError("--encrypt-all and --encrypted-regex exclude each other")
    if encrypt_all:
        return Rules()
    regex = FLUX_SECRET_REGEX if encrypted_regex is None else encrypted_regex
    try:
        re.compile(regex)
    except re.error as exc:
        raise click.BadParameter(f"not a regular expression: {exc}") from exc
    return Rules(encrypted_regex=regex)


@secrets.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def decrypt(file: Path) -> None:
    """Print FILE decrypted, after checking its MAC."""
    doc = files.load(file.read_text(), source=str(file))
    if not document.is_encrypted(doc):
        raise SopsError(SopsReason.MALFORMED, f"{file}: is not SOPS-encrypted (no sops: block)")
    identities = agekeys.environment_identities(os.environ)
    clear = document.decrypt(doc, identities, source=str(file))
    click.echo(files.dump(clear, as_json=files.is_json(file.name)), nl=False)
