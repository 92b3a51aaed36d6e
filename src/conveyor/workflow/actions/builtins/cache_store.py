"""The local cache store behind the built-in `actions/cache`, `cache/restore`, `cache/save`.

GitHub's rules (research §1.8): a cache is immutable and identified by `key` + `version`
(a hash of the `path` list, so different paths never collide); restore tries the exact
`key`, then `key` and each `restore-keys` line as prefixes, the most recently created match
winning; only caches of the current ref or of the default branch (and of a pull request's
base branch) are visible, never a sibling branch's. The store lives in
`$CONVEYOR_CACHE_DIR`, else `$CONVEYOR_HOME/cache`, else `~/.conveyor/cache`; it keeps at
most `$CONVEYOR_CACHE_LIMIT` bytes (default 10 GB), evicting the least recently used.
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


def scopes(ref: str, default_branch: str, base_ref: str = "") -> list[str]:
    """Refs whose caches a run on `ref` may restore: its own, a PR's base, the default."""
    out = [ref]
    if base_ref:
        out.append(f"refs/heads/{base_ref}")
    if default_branch:
        out.append(f"refs/heads/{default_branch}")
    return list(dict.fromkeys(out))


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


def _arcname(path: Path, workspace: Path) -> str:
    if path.is_relative_to(workspace):
        return str(path.relative_to(workspace))
    return f"{_ABS}{path}"


def pack(paths: Sequence[Path], workspace: Path, dest: Path) -> None:
    with tarfile.open(dest, "w") as tar:
        for path in paths:
            tar.add(path, arcname=_arcname(path, workspace))


def unpack(archive: Path, workspace: Path) -> None:
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.name.startswith(_ABS):
                member.name = member.name[len(_ABS) :]
                tar.extract(member, "/", filter="fully_trusted")
            else:
                tar.extract(member, workspace, filter="tar")
