"""Decrypting a SOPS document a render has transformed (issue 17).

sops' MAC covers the clear values too, so a kustomization that sets the namespace or adds
labels to an encrypted Secret changes what the MAC covers, although no encrypted value
changed. Flux decrypts such files as kustomize reads them; Conveyor runs the kustomize
binary, so it verifies the committed document instead (MAC and all), and then puts its
clear values into the rendered object where their exact ciphertexts stand (each has its
own random nonce, so one ciphertext names one value). A ciphertext in the rendered object
that the verified document does not hold is refused. Called by `reconcile.decrypt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conveyor.clients.sops import document
from conveyor.clients.sops.agekeys import Identity
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.values import is_encrypted
from conveyor.targets.base import Manifest


def clear(
    rendered: Manifest, original: Manifest, identities: Sequence[Identity], label: str
) -> Manifest:
    """`rendered` (without its `sops:` block) with the clear values of `original`, whose
    MAC `document.decrypt` verifies."""
    plain = document.decrypt(original, identities, source=label)
    values: dict[str, Any] = {}
    _pair(_body(original), plain, values)
    out: Manifest = _substitute(_body(rendered), values, label)
    return out


def _body(doc: Manifest) -> Manifest:
    return {k: v for k, v in doc.items() if k != document.KEY}


def _pair(encrypted: Any, plain: Any, into: dict[str, Any]) -> None:
    if isinstance(encrypted, dict) and isinstance(plain, dict):
        for key, value in encrypted.items():
            _pair(value, plain.get(key), into)
    elif isinstance(encrypted, list) and isinstance(plain, list):
        for item, clear_item in zip(encrypted, plain, strict=False):
            _pair(item, clear_item, into)
    elif is_encrypted(encrypted):
        into[encrypted] = plain


def _substitute(value: Any, values: dict[str, Any], label: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, values, label) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values, label) for v in value]
    if is_encrypted(value):
        if value not in values:
            raise SopsError(
                SopsReason.MAC_MISMATCH,
                f"{label}: an encrypted value is not one of the file's (MAC mismatch)",
            )
        return values[value]
    return value
