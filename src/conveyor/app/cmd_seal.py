"""`conveyor seal`: Bitnami Sealed Secrets from the command line, as `kubeseal` (issue 17).

    conveyor seal [FILE|-] [--cert PEM | --target NAME] [--scope strict|namespace-wide|
                  cluster-wide] [--name N] [--namespace NS] [--format json|yaml]
    conveyor seal keygen [--target NAME]   a new key pair: it seals from now on; older
                                           keys stay for unsealing (rotation)
    conveyor seal cert [--target NAME]     the active certificate, to publish to users
    conveyor seal keys [--target NAME]     the key pairs, newest (active) first
    conveyor seal re-encrypt [FILE|-] [--target NAME]
                                           a SealedSecret sealed again for the active
                                           key (kubeseal's --re-encrypt), so older keys
                                           can be retired once nothing needs them

Sealing reads one Secret (YAML or JSON; several documents are refused, as kubeseal does)
and prints its SealedSecret (`core.sealedsecret.seal`) on stdout, JSON by default as
kubeseal. The certificate is `--cert`, else the active one of a target Conveyor unseals
for (`app.sealtargets`). Key files live in the target's key directory
(`reconcile.sealkeys`). A first argument that is not a subcommand is the Secret's file.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from conveyor.app import platform, sealtargets
from conveyor.core.errors import UserError
from conveyor.core.sealedsecret import is_sealed
from conveyor.core.sealedsecret import seal as seal_secret
from conveyor.core.sealing import Scope
from conveyor.core.unsealing import reseal
from conveyor.reconcile.sealkeys import SealingKeys


class _SealGroup(click.Group):
    """`conveyor seal FILE …` seals; `conveyor seal keygen|cert|keys …` manage keys."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        help_only = args[:1] in (["--help"], ["-h"])
        if not help_only and (not args or args[0] not in self.commands):
            args = ["secret", *args]
        return super().parse_args(ctx, args)


def _where(function: Any) -> Any:
    """The options that say which keys: --target, --keys, --config, --state-dir."""
    for option in reversed(
        [
            click.option("--target", default=None, help="A target Conveyor unseals for."),
            click.option(
                "--keys",
                "keys_dir",
                type=click.Path(path_type=Path, file_okay=False),
                default=None,
                help="The key directory itself (instead of a target's).",
            ),
            click.option(
                "--config",
                "config_path",
                type=click.Path(path_type=Path, exists=True, dir_okay=False),
                default=None,
                help="conveyor.yaml naming the targets (default: the one `up` wrote).",
            ),
            click.option(
                "--state-dir",
                type=click.Path(path_type=Path, file_okay=False),
                default=platform.DEFAULT_STATE_DIR,
                show_default=True,
                help="The state directory of `conveyor up`.",
            ),
        ]
    ):
        function = option(function)
    return function


def _keys(
    target: str | None, keys_dir: Path | None, config_path: Path | None, state_dir: Path
) -> SealingKeys:
    config = sealtargets.config_for(state_dir, config_path)
    return sealtargets.target_keys(config, target, keys_dir)


@click.group("seal", cls=_SealGroup)
def seal() -> None:
    """Seal a Secret into a SealedSecret; manage the keys of targets Conveyor unseals for.

    `conveyor seal [FILE]` seals the Secret in FILE (default: stdin) and prints the
    SealedSecret; `conveyor seal secret --help` lists its options (--cert, --target,
    --scope, --name, --namespace, --format).
    """


@seal.command("secret", hidden=True)
@click.argument(
    "file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default="-"
)
@click.option("--cert", "cert_file", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--scope", type=click.Choice([s.value for s in Scope]), default=None)
@click.option("--name", default=None, help="Override the Secret's metadata.name.")
@click.option("--namespace", default=None, help="Override the Secret's metadata.namespace.")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json")
@click.option("--allow-empty-data", is_flag=True, help="Seal a Secret without values.")
@_where
def secret(  # noqa: PLR0917 - click passes options positionally
    file: Path,
    cert_file: Path | None,
    scope: str | None,
    name: str | None,
    namespace: str | None,
    fmt: str,
    allow_empty_data: bool,
    target: str | None,
    keys_dir: Path | None,
    config_path: Path | None,
    state_dir: Path,
) -> None:
    """Seal the Secret in FILE (default: stdin) and print the SealedSecret."""
    if cert_file is not None and (target or keys_dir):
        raise UserError("--cert and --target/--keys both name a key", hint="give one of them")
    if cert_file is not None:
        pem, source = _read_bytes(cert_file), str(cert_file)
    else:
        active = _keys(target, keys_dir, config_path, state_dir).active()
        pem, source = active.certificate_pem(), str(active.cert_file)
    document = _read_secret(file)
    meta = document.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise UserError(f"{_shown(file)}: metadata is not a mapping", hint="fix the Secret")
    if name:
        meta["name"] = name
    if namespace:
        meta["namespace"] = namespace
    key = sealtargets.public_key(pem, source)
    chosen = Scope(scope) if scope else None
    _print(seal_secret(document, key, scope=chosen, allow_empty=allow_empty_data), fmt)


def _print(document: dict[str, Any], fmt: str) -> None:
    if fmt == "yaml":
        click.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
    else:
        click.echo(json.dumps(document, indent=2))


def _shown(file: Path) -> str:
    return "stdin" if str(file) == "-" else str(file)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc


def _read_secret(file: Path) -> dict[str, Any]:
    """The one document in FILE (or stdin); its values stay out of every message."""
    text = sys.stdin.read() if str(file) == "-" else _read_bytes(file).decode()
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{_shown(file)}:{mark.line + 1}" if mark else _shown(file)
        raise UserError(f"{where}: not valid YAML or JSON", hint="give one document") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise UserError(
            f"{_shown(file)} holds {len(docs)} documents; one is needed",
            hint="give one document per call, as kubeseal does",
        )
    return docs[0]


@seal.command("keygen")
@_where
def keygen(
    target: str | None, keys_dir: Path | None, config_path: Path | None, state_dir: Path
) -> None:
    """Create a key pair (RSA-4096); it seals from now on, older keys still unseal."""
    keys = _keys(target, keys_dir, config_path, state_dir)
    older = len(keys.pairs())
    pair = keys.generate()
    click.echo(f"created {pair.key_file} (mode 0600) and {pair.cert_file}")
    if older:
        click.echo(f"it seals from now on; the {older} older key(s) stay for unsealing")
    click.echo("publish the certificate to whoever seals: `conveyor seal cert`")


@seal.command("cert")
@_where
def cert(
    target: str | None, keys_dir: Path | None, config_path: Path | None, state_dir: Path
) -> None:
    """Print the active certificate (PEM): what users seal with."""
    active = _keys(target, keys_dir, config_path, state_dir).active()
    click.echo(active.certificate_pem().decode(), nl=False)


@seal.command("keys")
@_where
def keys(
    target: str | None, keys_dir: Path | None, config_path: Path | None, state_dir: Path
) -> None:
    """List the key pairs, newest (the one that seals) first."""
    found = _keys(target, keys_dir, config_path, state_dir).pairs()
    if not found:
        click.echo("no sealing keys yet: `conveyor seal keygen` creates one")
        return
    now = dt.datetime.now(dt.UTC)
    for index, pair in enumerate(found):
        certificate = pair.certificate()
        role = "active (seals and unseals)" if index == 0 else "kept (unseals)"
        expired = " EXPIRED" if now > certificate.not_valid_after_utc else ""
        until = certificate.not_valid_after_utc.date().isoformat()
        click.echo(f"{pair.name}  {role}  valid until {until}{expired}")


@seal.command("re-encrypt")
@click.argument(
    "file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), default="-"
)
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json")
@_where
def re_encrypt(  # noqa: PLR0917 - click passes options positionally
    file: Path,
    fmt: str,
    target: str | None,
    keys_dir: Path | None,
    config_path: Path | None,
    state_dir: Path,
) -> None:
    """Seal the SealedSecret in FILE (default: stdin) again for the active key."""
    keys = _keys(target, keys_dir, config_path, state_dir)
    document = _read_secret(file)
    if not is_sealed(document):
        raise UserError(
            f"{_shown(file)} is not a bitnami.com/v1alpha1 SealedSecret",
            hint="re-encrypt takes the output of `conveyor seal` or kubeseal",
        )
    active = keys.active()
    public = sealtargets.public_key(active.certificate_pem(), str(active.cert_file))
    _print(reseal(document, keys.private_keys(), public), fmt)
