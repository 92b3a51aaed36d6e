"""SOPS files as text: one YAML or JSON document in, the same format out.

YAML is written as sops writes it in spirit: keys in their order, the armored age files
as literal blocks. Comments of the input are not carried over (sops would encrypt them;
Conveyor's YAML reading drops them). One document per file: a multi-document YAML file
is refused, because Flux and the reconciler decrypt each document on its own and sops'
MAC would cover them all together. Called by `app.cmd_secrets`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from conveyor.clients.sops.errors import SopsError, SopsReason

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_json(name: str) -> bool:
    return name.endswith(".json")


def load(text: str, *, source: str) -> dict[str, Any]:
    try:
        docs = [json.loads(text)] if is_json(source) else list(yaml.load_all(text, _Loader))
    except (yaml.YAMLError, ValueError) as exc:
        raise SopsError(SopsReason.MALFORMED, f"{source}: not valid YAML or JSON: {exc}") from exc
    docs = [d for d in docs if d is not None]
    if len(docs) != 1:
        raise SopsError(
            SopsReason.UNSUPPORTED,
            f"{source}: holds {len(docs)} documents; SOPS files here hold exactly one",
            hint="put each Secret in a file of its own",
        )
    if not isinstance(docs[0], dict):
        raise SopsError(SopsReason.MALFORMED, f"{source}: the document is not a mapping")
    return docs[0]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the armored age files) as literal blocks."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(doc: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)
