"""age keys for SOPS: the data key wrapped for each recipient, and the identities that
unwrap it, through `pyrage` (the Rust `age` crate).

One armored age file per recipient, as sops' `age/keysource.go` writes `sops.age[].enc`.
Identities come as sops reads them: a text of `AGE-SECRET-KEY-1…` lines, blank lines and
`#` comments (`age-keygen`'s output, `SOPS_AGE_KEY_FILE`). A key file must be readable by
its owner only (mode 0600 or stricter): a world-readable private key is refused, naming the
file. Key material never reaches a message. Called by `clients.sops.document`,
`reconcile.decrypt` and `app.cmd_secrets`.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pyrage  # type: ignore[import-untyped]
from pyrage import x25519

from conveyor.clients.sops.errors import SopsError, SopsReason

#: pyrage's `x25519.Identity` (pyrage ships no type information).
Identity: TypeAlias = Any


def wrap(data_key: bytes, recipient: str) -> str:
    try:
        parsed = x25519.Recipient.from_str(recipient.strip())
    except pyrage.RecipientError as exc:
        raise SopsError(
            SopsReason.MALFORMED,
            f"{recipient!r} is not an age recipient",
            hint="give the public key age-keygen prints: age1…",
        ) from exc
    return str(pyrage.encrypt(data_key, [parsed], armored=True).decode())


def unwrap(enc: str, identities: Sequence[Identity]) -> bytes | None:
    """The data key, or None when none of `identities` is a recipient of `enc`."""
    try:
        return bytes(pyrage.decrypt(enc.encode(), list(identities)))
    except pyrage.DecryptError:
        return None


def parse_identities(text: str, *, source: str) -> tuple[Identity, ...]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            out.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError as exc:
            raise SopsError(
                SopsReason.BAD_KEY_FILE,
                f"{source}:{number}: not an age identity (AGE-SECRET-KEY-1…)",
            ) from exc
    if not out:
        raise SopsError(SopsReason.BAD_KEY_FILE, f"{source}: holds no age identity")
    return tuple(out)


def read_key_file(path: Path) -> tuple[Identity, ...]:
    """The identities in `path`, refused unless only its owner may read it."""
    try:
        mode = path.stat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise SopsError(
                SopsReason.BAD_KEY_FILE,
                f"{path}: an age key file must be readable by its owner only "
                f"(mode is {stat.S_IMODE(mode):04o})",
                hint=f"chmod 600 {path}",
            )
        text = path.read_text()
    except OSError as exc:
        raise SopsError(
            SopsReason.BAD_KEY_FILE, f"{path}: cannot read the age key file ({exc.strerror})"
        ) from exc
    return parse_identities(text, source=str(path))


def public_key(identity: Identity) -> str:
    return str(identity.to_public())


def environment_identities(environ: Mapping[str, str]) -> tuple[Identity, ...]:
    """The identities sops itself would use: `SOPS_AGE_KEY` (the keys as text), the file
    `SOPS_AGE_KEY_FILE` names, else `$XDG_CONFIG_HOME/sops/age/keys.txt` (default
    `~/.config/…`) when it exists; none when nothing is set up."""
    found: list[Identity] = []
    if environ.get("SOPS_AGE_KEY"):
        found.extend(parse_identities(environ["SOPS_AGE_KEY"], source="SOPS_AGE_KEY"))
    if environ.get("SOPS_AGE_KEY_FILE"):
        found.extend(read_key_file(Path(environ["SOPS_AGE_KEY_FILE"])))
    elif not found:
        home = Path(environ.get("HOME") or Path.home())
        config = (
            Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else home / ".config"
        )
        default = config / "sops" / "age" / "keys.txt"
        if default.is_file():
            found.extend(read_key_file(default))
    return tuple(found)


def ensure_key_file(path: Path) -> str:
    """The recipient of the identity in `path`, generating one there (mode 0600, in a 0700
    directory) when the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        identity = x25519.Identity.generate()
        with path.open("x", encoding="ascii") as out:
            path.chmod(0o600)
            out.write(f"# public key: {public_key(identity)}\n{identity}\n")
    (identity, *_) = read_key_file(path)
    return public_key(identity)
