"""Container image references, the one grammar every package uses (distribution/reference).

`[registry[:port]/]path[:tag][@algorithm:hex]`: path components are lowercase alphanumerics
joined by `.`, `_`, `__` or dashes; a tag is a word character then up to 127 of `\\w.-`; a
digest is `algorithm:hex` with at least 32 hex digits; the name is at most 255 characters.
A first component is a registry when it holds a `.` or `:` or is `localhost` (as Docker and
Podman split names), so `localhost:5000/a/b:1@sha256:…` is registry `localhost:5000`, path
`a/b`, tag `1` and the digest.

Nothing that starts with `-`, holds a space, `/..` or a control character parses, so a
parsed reference is safe as a positional argument (still after `--`). Pure. Used by the
Podman target to refuse an image before it reaches a command line (`reference_problem`)
and by `conveyor.promote` to find and rewrite references (`parse_image`, `ImageRef`,
`same_repository`, which treats `nginx`, `library/nginx` and `docker.io/library/nginx` as
one repository).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH = rf"{COMPONENT}(?:/{COMPONENT})*"
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
REGISTRY = rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?"
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
NAME_MAX = 255
PATH_RE = re.compile(PATH, re.ASCII)
REGISTRY_RE = re.compile(REGISTRY, re.ASCII)
TAG_RE = re.compile(TAG, re.ASCII)
DIGEST_RE = re.compile(DIGEST, re.ASCII)
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
    if digest and not DIGEST_RE.fullmatch(digest):
        raise ValueError(f"malformed digest {digest!r} (expected algo:hex, e.g. sha256:…)")
    registry: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not REGISTRY_RE.fullmatch(first):
            raise ValueError(f"malformed registry {first!r}")
        registry, rest = first, remainder
    path, colon, tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if colon and not TAG_RE.fullmatch(tag):
        raise ValueError(f"malformed tag {tag!r}")
    if not PATH_RE.fullmatch(path):
        raise ValueError(f"malformed repository {path!r} (lowercase letters, digits, . _ - /)")
    ref = ImageRef(registry=registry, path=path, tag=tag or None, digest=digest or None)
    if len(ref.name) > NAME_MAX:
        raise ValueError(f"the repository name is longer than {NAME_MAX} characters")
    return ref


def reference_problem(text: str) -> str:
    """Why `text` is not an image reference, or "" when it is one."""
    try:
        parse_image(text)
    except ValueError as exc:
        return (
            f"{text[:80]!r} is not an image reference ([registry/]path[:tag][@digest], "
            f"lowercase path): {exc}"
        )
    return ""


def same_repository(left: ImageRef, right: ImageRef) -> bool:
    return left.canonical == right.canonical
