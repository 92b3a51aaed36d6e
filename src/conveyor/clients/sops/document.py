"""One SOPS document both ways: a mapping in clear ⇄ the same mapping with its selected
values encrypted and a `sops:` block at the end.

`encrypt` makes a fresh 32-byte data key, encrypts the values the rules select
(`clients.sops.tree`), wraps the key for every age recipient and stores the MAC encrypted
with the data key under `lastmodified`. `decrypt` unwraps the data key with the first
identity that opens it, decrypts, recomputes the MAC and compares it with the stored one:
a file whose values, keys, order or MAC changed is refused (`MAC_MISMATCH`), naming the
file. Messages never carry a value. `rewrap` is `sops updatekeys`: the same data key,
values and MAC, wrapped for another set of recipients. Called by `reconcile.decrypt` and
`app.cmd_secrets`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hmac
import os
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.clients.sops import agekeys, metadata
from conveyor.clients.sops.agekeys import Identity
from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.metadata import AgeStanza, Metadata
from conveyor.clients.sops.tree import Rules, decrypt_tree, encrypt_tree
from conveyor.clients.sops.values import decrypt_value, encrypt_value

KEY = "sops"
DATA_KEY_BYTES = 32


def is_encrypted(doc: object) -> bool:
    """A document carrying a `sops:` block (what Flux looks for before decrypting)."""
    return isinstance(doc, Mapping) and isinstance(doc.get(KEY), Mapping)


def encrypt(
    doc: Mapping[str, Any],
    recipients: Sequence[str],
    *,
    rules: Rules,
    now: datetime.datetime,
    source: str = "<document>",
) -> dict[str, Any]:
    if is_encrypted(doc):
        raise SopsError(SopsReason.MALFORMED, f"{source}: is already SOPS-encrypted")
    if not recipients:
        raise SopsError(SopsReason.NO_KEY, f"{source}: no age recipient given")
    data_key = os.urandom(DATA_KEY_BYTES)
    body, mac = encrypt_tree(dict(doc), data_key, rules)
    lastmodified = metadata.rfc3339(now.astimezone(datetime.UTC), source)
    meta = Metadata(
        age=tuple(AgeStanza(recipient=r, enc=agekeys.wrap(data_key, r)) for r in recipients),
        lastmodified=lastmodified,
        mac=encrypt_value(mac, data_key, lastmodified),
        version=metadata.WRITTEN_VERSION,
        rules=rules,
    )
    return body | {KEY: metadata.write(meta)}


def decrypt(
    doc: Mapping[str, Any], identities: Sequence[Identity], *, source: str
) -> dict[str, Any]:
    """The document in clear, without its `sops:` block; `SopsError` names `source`."""
    return _opened(doc, identities, source)[2]


def _opened(
    doc: Mapping[str, Any], identities: Sequence[Identity], source: str
) -> tuple[Metadata, bytes, dict[str, Any]]:
    """The `sops:` block, the data key and the clear document, its MAC verified."""
    meta = metadata.read(doc.get(KEY), source=source)
    data_key = _data_key(meta, identities, source)
    body = {k: v for k, v in doc.items() if k != KEY}
    try:
        clear, computed = decrypt_tree(body, data_key, meta.rules)
        stored = decrypt_value(meta.mac, data_key, meta.lastmodified)
    except SopsError as exc:
        raise SopsError(exc.reason, f"{source}: {exc.message}", hint=_hint(exc.reason)) from exc
    if not isinstance(stored, str) or not hmac.compare_digest(stored.upper(), computed):
        raise SopsError(
            SopsReason.MAC_MISMATCH,
            f"{source}: MAC mismatch: the file was changed after it was encrypted",
            hint=_hint(SopsReason.MAC_MISMATCH),
        )
    return meta, data_key, clear


def recipients_of(doc: Mapping[str, Any], *, source: str) -> tuple[str, ...]:
    """The age recipients an encrypted document's data key is wrapped for."""
    return tuple(s.recipient for s in metadata.read(doc.get(KEY), source=source).age)


def rewrap(
    doc: Mapping[str, Any],
    recipients: Sequence[str],
    identities: Sequence[Identity],
    *,
    source: str,
) -> dict[str, Any]:
    """`doc` with its data key wrapped for exactly `recipients`, as `sops updatekeys`
    leaves a file: values, MAC and `lastmodified` unchanged. The file is decrypted and its
    MAC checked first, so a tampered file is refused, not passed on to new readers; a
    recipient that stays keeps its stanza, so the diff shows only who came and went."""
    if not recipients:
        raise SopsError(SopsReason.NO_KEY, f"{source}: no age recipient given")
    meta, data_key, _ = _opened(doc, identities, source)
    kept = {s.recipient: s for s in meta.age}
    age = tuple(
        kept.get(r) or AgeStanza(recipient=r, enc=agekeys.wrap(data_key, r))
        for r in dict.fromkeys(recipients)
    )
    body = {k: v for k, v in doc.items() if k != KEY}
    return body | {KEY: metadata.write(dataclasses.replace(meta, age=age))}


def _data_key(meta: Metadata, identities: Sequence[Identity], source: str) -> bytes:
    if not identities:
        raise SopsError(
            SopsReason.NO_KEY,
            f"{source}: is SOPS-encrypted and no age key is configured",
            hint="set spec.decryption (keyFile or secretRef) or SOPS_AGE_KEY_FILE",
        )
    for stanza in meta.age:
        key = agekeys.unwrap(stanza.enc, identities)
        if key is not None:
            if len(key) != DATA_KEY_BYTES:
                raise SopsError(SopsReason.MALFORMED, f"{source}: the data key is not 32 bytes")
            return key
    wanted = ", ".join(s.recipient for s in meta.age)
    raise SopsError(
        SopsReason.WRONG_KEY,
        f"{source}: none of the configured age keys is a recipient (encrypted for {wanted})",
        hint="configure the identity of one of these recipients",
    )


def _hint(reason: SopsReason) -> str | None:
    if reason == SopsReason.MAC_MISMATCH:
        return "re-encrypt the file from its clear text; never edit encrypted values by hand"
    return None
