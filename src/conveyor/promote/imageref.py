"""Image references as promotion's CLI takes them: the grammar, `ImageRef` and
`same_repository` live in `conveyor.core.ociref` (one copy, shared with the Podman target);
this module turns a malformed `--image`, `--tag` or `--digest` into a `PromoteInputError`
(exit 2) that says what to write, and reads manifest fields leniently (`try_parse`: a
templated or foreign value is no reference, not an error).

Pure. Used by every editor to decide whether a field holds the image being promoted and to
write the new reference (`ImageRef.with_version`).
"""

from __future__ import annotations

from conveyor.core.ociref import DIGEST_RE, TAG_RE, ImageRef, parse_image, same_repository
from conveyor.promote.errors import PromoteInputError

__all__ = [
    "ImageRef",
    "check_digest",
    "check_tag",
    "parse_image",
    "parse_user_image",
    "same_repository",
    "try_parse",
]


def parse_user_image(text: str, *, what: str = "--image") -> ImageRef:
    """`parse_image` for CLI input: a `PromoteInputError` (exit 2) that says what to fix."""
    try:
        return parse_image(text.strip())
    except ValueError as exc:
        raise PromoteInputError(
            f"{what} {text!r} is not an image reference: {exc}",
            hint="write it as [registry[:port]/]name[:tag][@sha256:<64 hex>]",
        ) from exc


def try_parse(text: str) -> ImageRef | None:
    """The reference in a manifest field, or None for templated or foreign values."""
    try:
        return parse_image(text)
    except ValueError:
        return None


def check_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise PromoteInputError(
            f"--tag {tag!r} is not a valid tag", hint="use up to 128 of [A-Za-z0-9_.-]"
        )
    return tag


def check_digest(digest: str) -> str:
    if not DIGEST_RE.fullmatch(digest):
        raise PromoteInputError(
            f"--digest {digest!r} is not a digest", hint="write it as sha256:<64 hex digits>"
        )
    return digest
