"""Where `conveyor seal` finds keys and certificates: a `--cert` file, or a target's key
directory from `conveyor.yaml` (`reconcile.unseal.key_directories`).

The config is `--config`, else the `conveyor.yaml` that `conveyor up` wrote into
`--state-dir`, else the default (one Podman target, `local`, under `.conveyor/`), as
`conveyor down` finds it. A Kubernetes target's key is held by its sealed-secrets
controller: Conveyor does not fetch it (refused, with kubeseal's `--fetch-cert` as the
way). A certificate must hold an RSA key and must not have expired (kubeseal refuses
expired certificates too). Called by `app.cmd_seal`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from conveyor.core.errors import UserError
from conveyor.reconcile.config import Config, load_config
from conveyor.reconcile.sealkeys import SealingKeys
from conveyor.reconcile.unseal import controller_targets, key_directories


def config_for(state_dir: Path, config_path: Path | None) -> Config:
    written_by_up = state_dir / "conveyor.yaml"
    if config_path is None and written_by_up.is_file():
        config_path = written_by_up
    return load_config(config_path)


def target_keys(config: Config, target: str | None, keys_dir: Path | None) -> SealingKeys:
    """The key directory of `target` (`--keys` wins); without a name, the only target
    Conveyor unseals for."""
    if keys_dir is not None:
        return SealingKeys(keys_dir)
    state_root = Path(config.cache).parent
    dirs = key_directories(config, state_root)
    where = config.file or "the default config"
    if target is None:
        if len(dirs) != 1:
            raise UserError(
                f"{where} has {len(dirs)} targets Conveyor unseals for ({', '.join(dirs)})",
                hint="name one with --target, or give --cert",
            )
        return SealingKeys(next(iter(dirs.values())))
    if target in controller_targets(config):
        raise UserError(
            f"target {target!r} is a Kubernetes target: its sealed-secrets controller holds "
            "the key, and Conveyor does not fetch it",
            hint="`kubeseal --fetch-cert > cert.pem` against that cluster, then --cert cert.pem",
        )
    if target not in dirs:
        raise UserError(f"no target named {target!r} in {where}", hint=f"one of: {', '.join(dirs)}")
    return SealingKeys(dirs[target])


def public_key(pem: bytes, source: str, *, now: dt.datetime | None = None) -> rsa.RSAPublicKey:
    """The RSA key of the first certificate in `pem` (from `source`, named in errors)."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise UserError(
            f"{source} is not a PEM certificate",
            hint="give the target's sealing certificate (`conveyor seal cert`, or kubeseal "
            "--fetch-cert)",
        ) from exc
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise UserError(f"{source}: the certificate's key is not RSA", hint="use an RSA key")
    moment = now or dt.datetime.now(dt.UTC)
    if moment > cert.not_valid_after_utc:
        expired = cert.not_valid_after_utc.date().isoformat()
        raise UserError(
            f"{source}: the certificate expired on {expired}",
            hint="rotate the key (`conveyor seal keygen`) and fetch the new certificate",
        )
    return key
