"""The sealing keys of a target Conveyor unseals for itself (Podman, memory): files in one
directory, as the sealed-secrets controller keeps its keys as Secrets.

Layout: `sealed-secrets-key-<UTC time to the microsecond>.key` (the RSA private key, PKCS#8
PEM, mode 0600, written with O_EXCL) beside `<same name>.crt` (its self-signed X.509
certificate, PEM: the public part users seal with). The directory is created 0700. As
in the controller's key registry: the newest key seals (`active`), every key unseals
(`private_keys`), so a rotation (`generate` again) never breaks what was sealed before;
an old key leaves only when its files are deleted. A key file that group or others can
read is refused, naming the file and the chmod that fixes it.
Called by `reconcile.unseal` (private keys, before apply) and `app.cmd_seal`
(`conveyor seal keygen`, `conveyor seal cert`, sealing with a target's certificate).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conveyor.reconcile.errors import RenderError

PREFIX = "sealed-secrets-key-"
KEY_BITS = 4096  # the controller's default key size
VALIDITY = dt.timedelta(days=3650)  # the controller's default certificate lifetime
COMMON_NAME = "sealed-secret"  # the controller's is empty unless --my-cn: a readable name


class KeysUnusable(RenderError):
    """The key directory cannot be used: missing, empty, unreadable or too open."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SealingKey:
    """One key pair on disk."""

    name: str
    key_file: Path
    cert_file: Path

    def certificate_pem(self) -> bytes:
        return self.cert_file.read_bytes()

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem())


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class SealingKeys:
    """The keys in `directory` (which need not exist until the first `generate`)."""

    directory: Path

    def pairs(self) -> list[SealingKey]:
        """Every key pair, newest first."""
        if not self.directory.is_dir():
            return []
        names = sorted((p.stem for p in self.directory.glob(f"{PREFIX}*.key")), reverse=True)
        return [self._pair(name) for name in names]

    def active(self) -> SealingKey:
        """The newest key: the one to seal with."""
        found = self.pairs()
        if not found:
            raise KeysUnusable(
                f"no sealing key in {self.directory}",
                hint="create one with `conveyor seal keygen` (with the same --config/--target)",
            )
        return found[0]

    def private_keys(self) -> list[rsa.RSAPrivateKey]:
        """Every private key, newest first, for unsealing."""
        pairs = self.pairs()
        if not pairs:
            self.active()  # raises, saying how to create one
        return [_load_private(pair.key_file) for pair in pairs]

    def generate(
        self, *, bits: int = KEY_BITS, clock: Callable[[], dt.datetime] = _utc_now
    ) -> SealingKey:
        """A new key pair, which becomes the active one; older keys are kept."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        now = clock()
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        name = PREFIX + now.strftime("%Y%m%dT%H%M%S%fZ")
        pair = self._pair(name)
        _write(pair.key_file, _private_pem(private), mode=0o600)
        _write(pair.cert_file, _certificate(private, now).public_bytes(_PEM), mode=0o644)
        return pair

    def _pair(self, name: str) -> SealingKey:
        base = self.directory / name
        return SealingKey(
            name=name, key_file=base.with_suffix(".key"), cert_file=base.with_suffix(".crt")
        )


_PEM = serialization.Encoding.PEM


def _private_pem(private: rsa.RSAPrivateKey) -> bytes:
    return private.private_bytes(
        _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(private: rsa.RSAPrivateKey, now: dt.datetime) -> x509.Certificate:
    """Self-signed and a CA, as the controller's; ten years."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )


def _write(path: Path, data: bytes, *, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load_private(path: Path) -> rsa.RSAPrivateKey:
    try:
        info = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise KeysUnusable(f"cannot read sealing key {path}: {exc.strerror}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysUnusable(
            f"sealing key {path} is open to group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"chmod 600 {path}",
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise KeysUnusable(f"{path} is not a PEM private key", hint="restore it") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeysUnusable(f"{path} is not an RSA private key", hint="restore it")
    return key
