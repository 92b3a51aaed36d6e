"""Promotion commit messages and their trailers, the record `history` reads back.

    Promote ghcr.io/acme/web:1.4.0 to staging

    Conveyor-Image: ghcr.io/acme/web:1.4.0
    Conveyor-Environment: staging
    Conveyor-Source-Commit: 3f2c…
    Conveyor-Run: https://github.com/acme/web/actions/runs/42
    Conveyor-Build-Number: 42

Pure. Built by `writeback`, parsed by `history` and `ordering` (the last build number).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

IMAGE = "Conveyor-Image"
ENVIRONMENT = "Conveyor-Environment"
SOURCE_COMMIT = "Conveyor-Source-Commit"
RUN = "Conveyor-Run"
BUILD_NUMBER = "Conveyor-Build-Number"

_TRAILER_RE = re.compile(r"^([A-Za-z0-9-]+):\s*(.*)$")


def message(title: str, body: str | None, trailers: Sequence[tuple[str, str]]) -> str:
    """A commit message: title, optional body, one trailer block (values single-line)."""
    parts = [title.strip().splitlines()[0] if title.strip() else "Promote"]
    if body and body.strip():
        parts.append(body.strip())
    block = [f"{k}: {' '.join(v.split())}" for k, v in trailers if v]
    if block:
        parts.append("\n".join(block))
    return "\n\n".join(parts) + "\n"


def parse(text: str) -> list[tuple[str, str]]:
    """The trailers of a commit message: the `Key: value` lines of its last paragraph."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    found = [_TRAILER_RE.match(line) for line in paragraphs[-1].splitlines()]
    if not all(found):
        return []
    return [(m[1], m[2].strip()) for m in found if m]


def values(text: str, key: str) -> list[str]:
    return [v for k, v in parse(text) if k.lower() == key.lower()]
