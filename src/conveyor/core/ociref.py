"""The OCI image reference grammar (distribution/reference), as one full-match pattern.

`[host[:port]/]path[:tag][@algorithm:hex]`: path components are lowercase alphanumerics
joined by `.`, `_`, `__` or dashes; a tag is a word character then up to 127 of `\\w.-`; a
digest is `algorithm:hex` with at least 32 hex digits; the name is at most 255 characters.
Nothing that starts with `-`, holds a space, `/..` or a control character can match, so a
matching reference is safe as a positional argument (still after `--`). Pure; used by the
Podman target and the podman runner to refuse an image before it reaches a command line,
and by `conveyor.promote.imageref` to split references.
"""

from __future__ import annotations

import re

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH = rf"{COMPONENT}(?:/{COMPONENT})*"
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
REGISTRY = rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?"
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>(?:{REGISTRY}/)?{PATH})(?::{TAG})?(?:@{DIGEST})?", re.ASCII)
NAME_MAX = 255


def reference_problem(text: str) -> str:
    """Why `text` is not an image reference, or "" when it is one."""
    match = _REFERENCE.fullmatch(text)
    if match is None:
        return (
            f"{text[:80]!r} is not an image reference ([registry/]path[:tag][@digest], "
            "lowercase path)"
        )
    if len(match.group("name")) > NAME_MAX:
        return f"the repository name is longer than {NAME_MAX} characters"
    return ""
