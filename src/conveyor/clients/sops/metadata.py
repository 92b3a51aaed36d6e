"""The `sops:` block of a document: read strictly, written as sops 3.9 writes it.

Fields (getsops/sops `stores/stores.go`): `age` (a list of `{recipient, enc}`, `enc` the
32-byte data key as an armored age file for that one recipient), `lastmodified` (RFC 3339,
the MAC's additional data), `mac` (the MAC, itself an `ENC[…]` value), `version`, and at
most one of `unencrypted_suffix` / `encrypted_suffix` / `unencrypted_regex` /
`encrypted_regex`, plus `mac_only_encrypted`. What Conveyor does not implement is refused
by name, never skipped: other master keys (`pgp`, `kms`, `gcp_kms`, `azure_kv`,
`hc_vault`), `key_groups` and `shamir_threshold`, the comment rules (Conveyor reads YAML
without its comments). Called by `clients.sops.document`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.tree import Rules

#: The layout written: sops 3.9's (empty key lists omitted). Files of any sops 3.x read.
WRITTEN_VERSION = "3.9.4"
RULE_FIELDS = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
OTHER_KEYS = ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")
REFUSED = {
    "key_groups": "key groups (Shamir secret sharing) are not supported: use one list of age "
    "recipients",
    "shamir_threshold": "Shamir secret sharing is not supported: use one list of age recipients",
    "unencrypted_comment_regex": "comment rules are not supported: Conveyor reads YAML "
    "without its comments; use encrypted_regex or unencrypted_suffix",
    "encrypted_comment_regex": "comment rules are not supported: Conveyor reads YAML "
    "without its comments; use encrypted_regex or unencrypted_suffix",
}
KNOWN = frozenset(("age", "lastmodified", "mac", "version", "mac_only_encrypted", *RULE_FIELDS))


@dataclass(frozen=True, slots=True, kw_only=True)
class AgeStanza:
    recipient: str
    enc: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    age: tuple[AgeStanza, ...]
    lastmodified: str
    mac: str
    version: str
    rules: Rules


def read(block: object, *, source: str) -> Metadata:
    if not isinstance(block, Mapping):
        raise _malformed(source, "`sops` is not a mapping")
    _refuse_unknown(block, source)
    rules = Rules(
        **{f: _text(block, f, source) for f in RULE_FIELDS if block.get(f)},
        mac_only_encrypted=bool(block.get("mac_only_encrypted")),
    )
    if sum(1 for f in RULE_FIELDS if block.get(f)) > 1:
        raise _malformed(source, f"`sops` sets more than one of {', '.join(RULE_FIELDS)}")
    version = _text(block, "version", source)
    if not version.startswith("3."):
        raise SopsError(
            SopsReason.UNSUPPORTED,
            f"{source}: written by sops {version}; only the sops 3 format is read",
            hint="re-encrypt the file with sops 3 or `conveyor secrets encrypt`",
        )
    return Metadata(
        age=_age(block.get("age"), source),
        lastmodified=rfc3339(block.get("lastmodified"), source),
        mac=_text(block, "mac", source),
        version=version,
        rules=rules,
    )


def _refuse_unknown(block: Mapping[str, Any], source: str) -> None:
    for name, value in block.items():
        if name in REFUSED and value:
            raise SopsError(SopsReason.UNSUPPORTED, f"{source}: sops.{name}: {REFUSED[name]}")
        if name in OTHER_KEYS and value:
            raise SopsError(
                SopsReason.UNSUPPORTED,
                f"{source}: sops.{name}: only age keys are supported",
                hint="add an age recipient with `sops updatekeys`, or re-encrypt with --age",
            )
        if name not in KNOWN and name not in REFUSED and name not in OTHER_KEYS:
            raise SopsError(SopsReason.UNSUPPORTED, f"{source}: unknown field sops.{name}")


def _age(entries: object, source: str) -> tuple[AgeStanza, ...]:
    if not isinstance(entries, list) or not entries:
        raise SopsError(
            SopsReason.UNSUPPORTED,
            f"{source}: sops.age lists no recipient: only age keys are supported",
        )
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not entry.get("recipient") or not entry.get("enc"):
            raise _malformed(source, "each sops.age entry needs `recipient` and `enc`")
        out.append(AgeStanza(recipient=str(entry["recipient"]), enc=str(entry["enc"])))
    return tuple(out)


def _text(block: Mapping[str, Any], name: str, source: str) -> str:
    value = block.get(name)
    if not isinstance(value, str) or not value:
        raise _malformed(source, f"sops.{name} is missing or not a string")
    return value


def rfc3339(value: object, source: str) -> str:
    """`lastmodified` as Go's `time.Format(time.RFC3339)` prints the parsed time: the MAC's
    additional data (seconds precision; `Z` for UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _malformed(source, f"sops.lastmodified {value!r} is not RFC 3339") from exc
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise _malformed(source, "sops.lastmodified is missing or has no time zone")
    text = value.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def write(meta: Metadata) -> dict[str, Any]:
    """The block in the order sops writes it."""
    block: dict[str, Any] = {
        "age": [{"recipient": s.recipient, "enc": s.enc} for s in meta.age],
        "lastmodified": meta.lastmodified,
        "mac": meta.mac,
    }
    return block | meta.rules.fields() | {"version": meta.version}


def _malformed(source: str, what: str) -> SopsError:
    return SopsError(SopsReason.MALFORMED, f"{source}: {what}")
