"""Checks on the manifest values that become Podman names, paths and arguments (pure).

A config-repo author writes these values, and the target turns them into container,
network and volume names, host paths under the replica's run directory, and arguments of
`podman run`; so each is checked as Kubernetes' API server checks it, before anything is
created (issue 12, finding 4):

- object names are DNS-1123 subdomains (labels for Namespaces and Services); volume,
  container and claim-template names are DNS-1123 labels; port names are IANA service
  names (Kubernetes' `IsValidPortName`);
- `subPath` and ConfigMap/Secret item paths are relative, without `..` components;
- `mountPath` is absolute and holds no `:` (`-v source:destination:options` would read
  it as options);
- images follow the OCI reference grammar (`conveyor.core.ociref`), so `--privileged` is
  no image;
- env names hold no `=` or line break (the env file is `NAME=value` lines).

Each raises `SpecError` naming the field path. Called by `spec` and `validate`.
"""

from __future__ import annotations

import re

from conveyor.core.ociref import reference_problem
from conveyor.targets.podman.spec_error import SpecError

_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?", re.ASCII)
_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_PORT_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?", re.ASCII)
_ENV_NAME = re.compile(r"[^=\r\n\x00]+")


def label(value: object, path: str) -> str:
    """A DNS-1123 label: lowercase alphanumerics and `-`, at most 63 characters."""
    text = str(value or "")
    if len(text) > 63 or not _LABEL.fullmatch(text):
        raise SpecError(
            path,
            f"{text[:80]!r} is not a DNS-1123 label (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)",
        )
    return text


def subdomain(value: object, path: str) -> str:
    """A DNS-1123 subdomain: labels joined by `.`, at most 253 characters."""
    text = str(value or "")
    if len(text) > 253 or not _SUBDOMAIN.fullmatch(text):
        raise SpecError(
            path,
            f"{text[:80]!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-' "
            "and '.', starting and ending with a letter or digit, at most 253 characters)",
        )
    return text


def port_name(value: object, path: str) -> str:
    """An IANA service name: at most 15 characters, a letter among them, no `--`."""
    text = str(value or "")
    if (
        len(text) > 15
        or not _PORT_NAME.fullmatch(text)
        or "--" in text
        or not re.search("[a-z]", text)
    ):
        raise SpecError(path, f"{text[:80]!r} is not a valid port name (IANA service name)")
    return text


def image(value: object, path: str) -> str:
    text = str(value or "")
    problem = reference_problem(text)
    if problem:
        raise SpecError(path, problem)
    return text


def relative_path(value: object, path: str) -> str:
    """A path inside a volume: relative, no `..` component, no `:` or control character."""
    text = str(value or "")
    if text.startswith("/") or ".." in text.split("/"):
        raise SpecError(path, f"{text[:80]!r} must be a relative path without '..'")
    if ":" in text or any(ord(ch) < 32 for ch in text):
        raise SpecError(path, f"{text[:80]!r} must not hold ':' or control characters")
    return text


def mount_path(value: object, path: str) -> str:
    text = str(value or "")
    if not text.startswith("/") or ":" in text or "," in text:
        raise SpecError(path, f"{text[:80]!r} must be an absolute path without ':' or ','")
    if any(ord(ch) < 32 for ch in text):
        raise SpecError(path, "must not hold control characters")
    return text


def env_name(value: object, path: str) -> str:
    text = str(value or "")
    if not _ENV_NAME.fullmatch(text):
        raise SpecError(path, f"{text[:80]!r} is not an environment variable name")
    return text


def port_number(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise SpecError(path, f"{value!r} is not a port number (1-65535)")
    return value
