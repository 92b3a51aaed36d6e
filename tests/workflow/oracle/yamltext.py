"""Generated workflow values written as YAML text the way people write it.

`dump(value)` is called by `corpus.build_corpus` (each valid base workflow) and by the tree
mutations in `mutations` (each mutated value). Kept apart from `corpus` so that `corpus`
can import the mutations at its top without an import cycle.
"""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Writes a value used twice twice, not as an anchor and an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(value: Any) -> str:
    """Block-style YAML as people write it (`on:` unquoted, keys in insertion order)."""
    text = yaml.dump(
        value,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
        default_flow_style=False,
    )
    return text.replace("'on':", "on:", 1) if text.startswith("'on':") else text
