"""Safe tar extraction on every Python 3.11 (used by artifacts, the cache and Git exports).

`tarfile`'s extraction filters (PEP 706) arrived in 3.11.4. Local CI jobs may run on the
system's `python3.11` (the job user cannot enter root's pyenv, issue 12), and Debian 12's is
3.11.2, where `extractall(filter=...)` is a TypeError. So this module asks for the filter
when the interpreter has it and otherwise applies the same rules itself: no member may land
outside the destination (`..`, links pointing out; a leading `/` is stripped), no device files, and
with `data` no links to absolute paths and no set-id bits. Called by `ci.artifacts`,
`clients.gitmirror` and the cache action (`workflow.run.actions.builtins.cache_store`).
"""

from __future__ import annotations

import copy
import os
import tarfile
from pathlib import Path
from typing import Literal

Filter = Literal["data", "tar"]
_FILTERS = hasattr(tarfile, "data_filter")


class UnsafeArchiveError(tarfile.TarError):
    """A member would be written outside the destination, or is a device file."""


def extract_all(tar: tarfile.TarFile, destination: Path, *, rule: Filter = "data") -> None:
    """Extract every member of `tar` into `destination` under `rule` (see the docstring)."""
    for member in tar.getmembers():
        extract(tar, member, destination, rule=rule)


def extract(
    tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path, *, rule: Filter = "data"
) -> None:
    """Extract one member into `destination` under `rule`."""
    if _FILTERS:
        tar.extract(member, destination, filter=rule)
        return
    checked = _checked(member, destination, rule)
    tar.extract(checked, destination)


def _checked(member: tarfile.TarInfo, destination: Path, rule: Filter) -> tarfile.TarInfo:
    root = destination.resolve()
    name = member.name.lstrip("/")  # as both filters do: `/x` lands at `<destination>/x`
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise UnsafeArchiveError(f"{member.name!r} would be written outside {destination}")
    if member.ischr() or member.isblk() or member.isfifo():
        raise UnsafeArchiveError(f"{member.name!r} is a device file")
    if member.issym() or member.islnk():
        _check_link(member, root, target, rule)
    checked = copy.copy(member)  # (TarInfo.replace arrived with the filters)
    checked.name = name
    checked.mode = member.mode & (0o755 if rule == "data" else 0o777)
    checked.uid, checked.gid = os.getuid(), os.getgid()  # never the archive's owners
    checked.uname = checked.gname = ""
    return checked


def _check_link(member: tarfile.TarInfo, root: Path, target: Path, rule: Filter) -> None:
    link = member.linkname
    if rule == "data" and Path(link).is_absolute():
        raise UnsafeArchiveError(f"{member.name!r} links to the absolute path {link!r}")
    base = target.parent if member.issym() else root
    if not (base / link.lstrip("/")).resolve().is_relative_to(root):
        raise UnsafeArchiveError(f"{member.name!r} links outside the destination ({link!r})")
