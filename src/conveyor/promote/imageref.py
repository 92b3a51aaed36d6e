"""Container image references: `[registry[:port]/]path[:tag][@algo:hex]`, parsed as the
distribution reference grammar does (a first component is a registry when it holds a `.`
or `:` or is `localhost`), so `localhost:5000/a/b:1@sha256:…` splits into registry
`localhost:5000`, path `a/b`, tag `1` and the digest.

Pure. Used by every editor to decide whether a field holds the image being promoted
(`same_repository`, which treats `nginx`, `library/nginx` and `docker.io/library/nginx`
as one) and to write the new reference (`ImageRef.with_version`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conveyor.promote.errors import PromoteInputError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_REGISTRY_RE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::\d+)?"
)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}")
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRef:
    """One parsed reference; `registry` is None when the reference names none (Docker Hub)."""

    registry: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository as written: `registry/path` or `path`."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def canonical(self) -> str:
        """The repository with Docker Hub defaults filled in, for comparisons only."""
        registry = self.registry or "docker.io"
        if registry in _DOCKER_HUB:
            registry = "docker.io"
            path = self.path if "/" in self.path else f"library/{self.path}"
            return f"{registry}/{path}"
        return f"{registry}/{self.path}"

    @property
    def version(self) -> str:
        """`:tag`, `@digest` or both, as they follow the name."""
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def with_version(self, *, tag: str | None, digest: str | None) -> ImageRef:
        return ImageRef(registry=self.registry, path=self.path, tag=tag, digest=digest)

    def __str__(self) -> str:
        return self.name + self.version


def parse_image(text: str) -> ImageRef:
    """Parse a reference or raise `ValueError` saying which part is malformed."""
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST_RE.fullmatch(digest):
        raise ValueError(f"malformed digest {digest!r} (expected algo:hex, e.g. sha256:…)")
    registry: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not _REGISTRY_RE.fullmatch(first):
            raise ValueError(f"malformed registry {first!r}")
        registry, rest = first, remainder
    path, colon, tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if colon and not _TAG_RE.fullmatch(tag):
        raise ValueError(f"malformed tag {tag!r}")
    if not _PATH_RE.fullmatch(path):
        raise ValueError(f"malformed repository {path!r} (lowercase letters, digits, . _ - /)")
    return ImageRef(registry=registry, path=path, tag=tag or None, digest=digest or None)


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


def same_repository(left: ImageRef, right: ImageRef) -> bool:
    return left.canonical == right.canonical


def check_tag(tag: str) -> str:
    if not _TAG_RE.fullmatch(tag):
        raise PromoteInputError(
            f"--tag {tag!r} is not a valid tag", hint="use up to 128 of [A-Za-z0-9_.-]"
        )
    return tag


def check_digest(digest: str) -> str:
    if not _DIGEST_RE.fullmatch(digest):
        raise PromoteInputError(
            f"--digest {digest!r} is not a digest", hint="write it as sha256:<64 hex digits>"
        )
    return digest
