"""Values that may stand as positional arguments on a `git` command line (issue 12, finding 4).

Git parses options anywhere on its command line, so a ref, revision, URL or path that comes
from a manifest, a workflow, a webhook, an API request or the config repo must never be read
as one: `git fetch <url> <ref>` with the ref `--upload-pack=touch /tmp/pwned` runs that
command. Each call that builds an argv either puts such values after `--end-of-options`
(git ≥ 2.24; on 2.39 `checkout`, `commit-tree` and `fast-import` do not accept it) or `--`
(paths), or passes them through one of the checks here, which return the value unchanged
or raise `UnsafeArgument`. `tests/security/test_argv_audit.py` walks src/ and refuses any
other non-literal positional; its table lists these functions by name.

- `ref_name`: `git check-ref-format` rules (no leading `-`, no `..`, `~`, `^`, `:`, `@{`, …).
- `commit_id`: a full hexadecimal object name (SHA-1 or SHA-256).
- `revision`: a commit id or a ref name (what a `ref:` input may hold), never an option.
- `remote_url`: https/http/ssh/git URLs (and local paths or `file://` when `local=True`);
  never `<transport>::…` (git's remote-helper form, e.g. `ext::sh -c …`) nor a leading `-`.
- `repository_name`: an `owner/repo` as GitHub allows it.

Pure: no I/O.
"""

from __future__ import annotations

import re

from conveyor.core.errors import UserError

_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_HELPER = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")
_SCP = re.compile(r"(?:[^@/:]+@)?([^/:]+):")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
NETWORK_SCHEMES = ("https", "http", "ssh", "git")
OWNER_MAX = 39  # GitHub's limit for user and organization names
REPO_MAX = 100  # GitHub's limit for repository names


class UnsafeArgument(UserError):
    """A value cannot be handed to git as asked; the message says which and why."""


def ref_name_problem(ref: str) -> str:
    """Why `ref` is no valid ref name (`git check-ref-format`, branch rules), or ""."""
    if not ref or ref == "@" or ref.startswith(("-", "/")) or ref.endswith(("/", ".", ".lock")):
        return "is not a valid ref name"
    if _BAD_REF.search(ref) or any(part.startswith((".", "-")) for part in ref.split("/")):
        return "is not a valid ref name (no spaces, '..', '~', '^', ':', '?', '*', '[', '@{')"
    if any(part.endswith(".lock") for part in ref.split("/")):
        return "is not a valid ref name (no component may end with '.lock')"
    return ""


def ref_name(ref: str, *, what: str = "ref") -> str:
    """`ref` when it is a valid ref name; else `UnsafeArgument`."""
    problem = ref_name_problem(ref)
    if problem:
        raise UnsafeArgument(f"{what} {ref[:80]!r} {problem}", hint="give a branch or tag name")
    return ref


def commit_id(sha: str, *, what: str = "commit") -> str:
    """`sha` when it is a full lowercase hexadecimal object name; else `UnsafeArgument`."""
    if not _COMMIT.fullmatch(sha):
        raise UnsafeArgument(
            f"{what} {sha[:80]!r} is not a commit id", hint="give 40 (or 64) hex digits"
        )
    return sha


def revision(rev: str, *, what: str = "ref") -> str:
    """A branch, tag, full ref or commit id as a `ref:` input holds it, or `HEAD`."""
    if rev == "HEAD" or _COMMIT.fullmatch(rev):
        return rev
    return ref_name(rev, what=what)


def remote_url_problem(url: str, *, local: bool, schemes: tuple[str, ...] = NETWORK_SCHEMES) -> str:
    """Why git must not be pointed at `url`, or ""."""
    allowed = (*schemes, "file") if local else schemes
    if not url or url.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in url):
        return "is not a repository URL"
    if _HELPER.match(url):  # `ext::`, `fd::`, any remote helper named by the URL itself
        return "names a git remote helper (`<transport>::`): refused"
    scheme = _SCHEME.match(url)
    if scheme:
        host = scheme[2].rpartition("@")[2]
        if scheme[1].lower() not in allowed:
            return f"has scheme {scheme[1]!r}; allowed: {', '.join(allowed)}"
        return "has a host starting with '-'" if host.startswith("-") else ""
    scp = _SCP.match(url)
    if (
        scp and "/" not in url.split(":", 1)[0] and "ssh" in allowed
    ):  # `user@host:path` is ssh to git
        return "has a host starting with '-'" if scp[1].startswith("-") else ""
    return "" if local else f"is a local path; allowed: {', '.join(allowed)} URLs"


def remote_url(
    url: str,
    *,
    local: bool,
    schemes: tuple[str, ...] = NETWORK_SCHEMES,
    what: str = "repository URL",
) -> str:
    """`url` when git may fetch from it (local paths and file:// only with `local`)."""
    problem = remote_url_problem(url, local=local, schemes=schemes)
    if problem:
        raise UnsafeArgument(f"{what} {url[:120]!r} {problem}")
    return url


def repository_name_problem(full_name: str) -> str:
    """Why `owner/repo` is not a repository name GitHub would accept, or ""."""
    owner, slash, repo = full_name.partition("/")
    if not slash or not owner or not repo:
        return "must be owner/repo"
    if len(owner) > OWNER_MAX or not re.fullmatch(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*", owner):
        return (
            f"has an invalid owner (letters, digits and single inner hyphens, at most {OWNER_MAX})"
        )
    name = repo.removesuffix(".git")
    if not _NAME.fullmatch(name) or name in (".", "..") or name.startswith("."):
        return "has an invalid repository name (letters, digits, '-', '_', '.'; no leading '.')"
    if len(name) > REPO_MAX:
        return f"has a repository name longer than {REPO_MAX} characters"
    return ""


def repository_name(full_name: str) -> str:
    """`full_name` when it is a valid `owner/repo`; else `UnsafeArgument`."""
    problem = repository_name_problem(full_name)
    if problem:
        raise UnsafeArgument(f"repository {full_name[:120]!r} {problem}")
    return full_name
