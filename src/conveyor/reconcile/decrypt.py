"""SOPS decryption at render time (issue 17), as Flux's kustomize-controller does it: after
a source renders, every document with a `sops:` block is decrypted, its MAC verified, and
the block dropped, before anything is compared or applied.

The age identities are looked up only when an app has an encrypted document: the app's
`spec.decryption.keyFile` (mode 0600), the `*.agekey` keys of its
`spec.decryption.secretRef` Secret on the app's target (Flux's convention), and what sops
itself reads from the reconciler's environment (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, the
user's `sops/age/keys.txt`). A document that cannot be decrypted fails the whole render
(`RenderError`, so RenderFailed: nothing is applied and nothing pruned) with the file, the
object and the reason (NoKey, WrongKey, MacMismatch, …), never a value. The render cache
keeps the encrypted manifests; the clear ones exist only in the app's desired state in
memory, which the diff redacts (`reconcile.diff.redact`) and the target receives.
Called by `reconcile.checkouts.render_sources`, set up by `reconcile.steps.render`.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conveyor.clients.sops import agekeys, document
from conveyor.clients.sops.agekeys import Identity
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.reconcile import ciphertext
from conveyor.reconcile import decrypt_transformed as transformed
from conveyor.reconcile.appmodel import Application, Decryption
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.render import Rendered
from conveyor.targets.base import Manifest, ObjectRef, Target

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
AGE_KEY_SUFFIX = ".agekey"  # Flux: the Secret's keys that hold age identities
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(slots=True)
class Decryptor:
    """Decrypts one app's rendered manifests; identities are loaded on first need."""

    app: Application
    target: Callable[[], Target]
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _identities: tuple[Identity, ...] | None = None

    async def __call__(self, rendered: Rendered, directory: Path) -> Rendered:
        """`rendered` with its SOPS documents in clear; the digest stays the encrypted one.
        Ciphertext outside a SOPS document (a generator's encrypted source) is refused."""
        ciphertext.refuse(rendered.manifests)
        if not any(document.is_encrypted(m) for m in rendered.manifests):
            return rendered
        out = []
        for manifest in rendered.manifests:
            out.append(
                await self._clear(manifest, directory)
                if document.is_encrypted(manifest)
                else manifest
            )
        return Rendered(manifests=tuple(out), digest=rendered.digest)

    async def _clear(self, manifest: Manifest, directory: Path) -> Manifest:
        label = _label(manifest)
        try:
            return document.decrypt(manifest, await self.identities(), source=label)
        except SopsError as exc:
            found = find_file(directory, manifest)
            if exc.reason != SopsReason.MAC_MISMATCH or not found:
                raise _failed(exc, found, directory) from exc
        # Transformed by the render (a kustomization's namespace, labels…): verify the
        # committed file, then carry its clear values over (`decrypt_transformed`).
        try:
            original = _committed(directory / found, manifest)
            return transformed.clear(manifest, original, await self.identities(), label)
        except SopsError as exc:
            raise _failed(exc, found, directory) from exc

    async def identities(self) -> tuple[Identity, ...]:
        if self._identities is None:
            found: list[Identity] = []
            spec = self.app.decryption
            if spec is not None and spec.key_file:
                found.extend(agekeys.read_key_file(Path(spec.key_file)))
            if spec is not None and spec.secret_name:
                found.extend(await secret_identities(self.target(), spec))
            found.extend(agekeys.environment_identities(self.environ))
            self._identities = tuple(found)
        return self._identities


async def secret_identities(target: Target, spec: Decryption) -> tuple[Identity, ...]:
    """The identities in the `*.agekey` keys of the Secret `spec` names, on `target`."""
    ref = ObjectRef(group="", kind="Secret", namespace=spec.secret_namespace, name=spec.secret_name)
    shown = f"Secret {ref.namespace}/{ref.name}"
    secret = await target.get(ref)
    if secret is None:
        raise SopsError(
            SopsReason.NO_KEY,
            f"the {shown} named in spec.decryption.secretRef is not on the target",
            hint=f"create it with the age identity under a key ending in {AGE_KEY_SUFFIX}",
        )
    found: list[Identity] = []
    for key, text in _values(secret, shown).items():
        if key.endswith(AGE_KEY_SUFFIX):
            found.extend(agekeys.parse_identities(text, source=f"{shown} key {key}"))
    if not found:
        raise SopsError(SopsReason.NO_KEY, f"the {shown} has no key ending in {AGE_KEY_SUFFIX}")
    return tuple(found)


def _values(secret: Manifest, shown: str) -> dict[str, str]:
    out = {str(k): str(v) for k, v in (secret.get("stringData") or {}).items()}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise SopsError(SopsReason.BAD_KEY_FILE, f"{shown} key {key} is not base64") from exc
    return out


def _label(manifest: Manifest) -> str:
    meta = manifest.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{manifest.get('kind', 'object')} {namespace}{meta.get('name', '')}"


def _failed(exc: SopsError, found: str, directory: Path) -> RenderError:
    where = found or f"a file under {directory.name or '.'}"
    message = f"SOPS decryption failed ({exc.reason}): {where}: {exc.message}"
    return RenderError(message, hint=exc.hint)


def _committed(path: Path, manifest: Manifest) -> Manifest:
    """The document in `path` with the same MAC as `manifest` (the encrypted original)."""
    mac = manifest["sops"].get("mac")
    try:
        docs = list(yaml.load_all(path.read_text(), Loader=_Loader))
    except (OSError, yaml.YAMLError) as exc:
        raise SopsError(SopsReason.MALFORMED, f"{path.name}: cannot be read again") from exc
    for doc in docs:
        if document.is_encrypted(doc) and doc["sops"].get("mac") == mac:
            return dict(doc)
    raise SopsError(SopsReason.MALFORMED, f"{path.name}: the encrypted document is not there")


def find_file(directory: Path, manifest: Manifest) -> str:
    """The file under `directory` the encrypted document came from (its MAC, a random
    ciphertext, is unique to it), relative to `directory`; "" when not found (generated)."""
    block: Any = manifest.get("sops")
    mac = block.get("mac") if isinstance(block, Mapping) else None
    if not isinstance(mac, str) or not mac or not directory.is_dir():
        return ""
    for path in sorted(directory.rglob("*")):
        if path.suffix in MANIFEST_SUFFIXES and path.is_file():
            try:
                if mac in path.read_text(errors="replace"):
                    return path.relative_to(directory).as_posix()
            except OSError:
                continue
    return ""
