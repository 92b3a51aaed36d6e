"""The local cache store behind the built-in `actions/cache`, `cache/restore`, `cache/save`.

GitHub's rules (research §1.8): a cache is immutable and identified by `key` + `version`
(a hash of the `path` list, so different paths never collide); restore tries the exact
`key`, then `key` and each `restore-keys` line as prefixes, the most recently created match
winning; only caches of the current ref or of the default branch (and of a pull request's
base branch) are visible, never a sibling branch's. The store lives in
`$CONVEYOR_CACHE_DIR`, else `$CONVEYOR_HOME/cache`, else `~/.conveyor/cache`; it keeps at
most `$CONVEYOR_CACHE_LIMIT` bytes (default 10 GB), evicting the least recently used.

As on GitHub, caches belong to a repository (issue 12 #15): a scope is `<owner/repo>:<ref>`,
so one repository never restores another's. A cached path outside the workspace must lie
under one of the job's own directories (`roots`: workspace, home, temp, tool cache); saving
or restoring anything else is refused with a message, and extraction cannot leave its root
(tarfile's `tar` filter: no `..`, no absolute names, no links out).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import tarfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from conveyor.clients.archives import extract

DEFAULT_LIMIT = 10 * 1024**3
_ABS = "__abs__"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    key: str
    version: str
    scope: str  # the ref that saved it
    created: float
    last_used: float
    size: int
    file: str


def store_dir() -> Path:
    given = os.environ.get("CONVEYOR_CACHE_DIR")
    if given:
        return Path(given)
    home = os.environ.get("CONVEYOR_HOME")
    return (Path(home) if home else Path.home() / ".conveyor") / "cache"


def version(paths: Sequence[str]) -> str:
    return hashlib.sha256(("\n".join(paths) + "|tar").encode()).hexdigest()


def match(
    entries: Sequence[Entry], *, keys: Sequence[str], version: str, scopes: Sequence[str]
) -> Entry | None:
    """GitHub's lookup: per scope in order, each key exact then as a prefix (newest wins)."""
    for scope in scopes:
        visible = [e for e in entries if e.scope == scope and e.version == version]
        for key in keys:
            exact = [e for e in visible if e.key == key]
            if exact:
                return max(exact, key=lambda e: e.created)
            prefixed = [e for e in visible if e.key.startswith(key)]
            if prefixed:
                return max(prefixed, key=lambda e: e.created)
    return None


def scopes(ref: str, default_branch: str, base_ref: str = "", *, repository: str) -> list[str]:
    """Scopes a run of `repository` on `ref` may restore: its own ref, a PR's base, the
    default branch, all of the same repository."""
    out = [ref]
    if base_ref:
        out.append(f"refs/heads/{base_ref}")
    if default_branch:
        out.append(f"refs/heads/{default_branch}")
    return [scope_of(repository, r) for r in dict.fromkeys(out)]


def scope_of(repository: str, ref: str) -> str:
    """The scope a cache saved by `repository` on `ref` is stored under."""
    return f"{repository}:{ref}"


class CacheRefused(ValueError):
    """A cache path outside the job's own directories (the message names it)."""


class CacheStore:
    def __init__(self, root: Path | None = None, limit: int | None = None) -> None:
        self.root = root or store_dir()
        env_limit = os.environ.get("CONVEYOR_CACHE_LIMIT", "")
        self.limit = limit or (int(env_limit) if env_limit.isdigit() else DEFAULT_LIMIT)
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = self.root / "index.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[Entry]]:
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._read()
            yield entries
            tmp = self.index.with_suffix(f".{uuid.uuid4().hex}")
            tmp.write_text(json.dumps([asdict(e) for e in entries], indent=1))
            tmp.replace(self.index)

    def _read(self) -> list[Entry]:
        try:
            return [Entry(**item) for item in json.loads(self.index.read_text())]
        except FileNotFoundError:
            return []

    def find(self, keys: Sequence[str], version: str, scopes: Sequence[str]) -> Entry | None:
        """The matching entry (its `last_used` is refreshed), or None."""
        with self._locked() as entries:
            found = match(entries, keys=keys, version=version, scopes=scopes)
            if found is not None:
                index = entries.index(found)
                entries[index] = Entry(**{**asdict(found), "last_used": time.time()})
            return found

    def exists(self, key: str, version: str, scope: str) -> bool:
        entries = self._read()
        return any(e.key == key and e.version == version and e.scope == scope for e in entries)

    def save(self, key: str, version: str, scope: str, archive: Path) -> bool:
        """Add `archive` under `key`; False when that cache already exists (immutable)."""
        name = f"{uuid.uuid4().hex}.tar"
        with self._locked() as entries:
            if any(e.key == key and e.version == version and e.scope == scope for e in entries):
                archive.unlink(missing_ok=True)
                return False
            archive.replace(self.root / name)
            now = time.time()
            size = (self.root / name).stat().st_size
            entries.append(
                Entry(
                    key=key,
                    version=version,
                    scope=scope,
                    created=now,
                    last_used=now,
                    size=size,
                    file=name,
                )
            )
            self._evict(entries)
            return True

    def _evict(self, entries: list[Entry]) -> None:
        """Drop least recently used entries until the store fits its limit."""
        while entries and sum(e.size for e in entries) > self.limit:
            oldest = min(entries, key=lambda e: e.last_used)
            entries.remove(oldest)
            (self.root / oldest.file).unlink(missing_ok=True)

    def path(self, entry: Entry) -> Path:
        return self.root / entry.file


def expand(patterns: Sequence[str], workspace: Path) -> list[Path]:
    """The files and directories `path:` names (globs, `~`; `!pattern` excludes)."""
    found: list[Path] = []
    excluded: set[Path] = set()
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = Path(raw[1:] if negate else raw).expanduser()
        base = str(pattern if pattern.is_absolute() else workspace / pattern)
        matches = [Path(p) for p in glob.glob(base, recursive=True)]  # noqa: PTH207
        if negate:
            excluded.update(matches)
        else:
            found.extend(matches)
    return [p for p in dict.fromkeys(found) if p not in excluded]


def _resolved(path: Path) -> Path:
    """`path` with its parent's links resolved (the last component itself is archived as is)."""
    return path.parent.resolve() / path.name


def _root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    real = _resolved(path)
    for root in roots:
        base = root.resolve()
        if real == base or real.is_relative_to(base):
            return base
    return None


def _refused(path: Path | str) -> CacheRefused:
    return CacheRefused(
        f"cache path {path} is outside the job's workspace, home, temp and tool cache "
        "directories: Conveyor neither saves nor restores it"
    )


def _arcname(path: Path, workspace: Path, roots: Sequence[Path]) -> str:
    if _root_of(path, roots) is None:
        raise _refused(path)
    real = _resolved(path)
    if real.is_relative_to(workspace.resolve()):
        return str(real.relative_to(workspace.resolve()))
    return f"{_ABS}{real}"


def pack(paths: Sequence[Path], workspace: Path, dest: Path, roots: Sequence[Path]) -> None:
    """Archive `paths`; `CacheRefused` (nothing written) for one outside `roots`."""
    names = [_arcname(path, workspace, roots) for path in paths]
    with tarfile.open(dest, "w") as tar:
        for path, name in zip(paths, names, strict=True):
            tar.add(path, arcname=name)


def unpack(archive: Path, workspace: Path, roots: Sequence[Path]) -> None:
    """Extract into the workspace, and absolute entries into the root of `roots` they lie
    under; `CacheRefused` before anything is written when one lies under none."""
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        targets: list[tuple[tarfile.TarInfo, Path]] = []
        for member in members:
            if not member.name.startswith(_ABS):
                targets.append((member, workspace))
                continue
            absolute = Path(member.name[len(_ABS) :])
            root = _root_of(absolute, roots) if absolute.is_absolute() else None
            if root is None or ".." in absolute.parts:
                raise _refused(absolute)
            member.name = str(absolute.relative_to(root)) if absolute != root else "."
            targets.append((member, root))
        for member, destination in targets:
            extract(tar, member, destination, rule="tar")
