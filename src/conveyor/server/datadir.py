"""The server's data directory is the server's alone: 0700 directories, 0600 files (issue 12 #14).

It holds the secret key, the admin token, the database (every secret, sealed), the hosted
Git repositories, artifacts, mirrors and logs. Called by `conveyor.server.main` before
anything is created in it: `private_umask()` makes everything the server creates from then
on owner-only (SQLite's database and journal files, `git`'s objects and refs, artifacts),
and `secure_tree()` takes group and other bits off what an older version (or a lax umask)
left behind, so an existing directory is fixed on start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Make files and directories this process creates owner-only; the previous umask."""
    return os.umask(PRIVATE_UMASK)


def secure_tree(root: Path) -> int:
    """Create `root` 0700 if missing, then strip group/other bits from it and everything in
    it (symbolic links are not followed); how many entries were changed."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    changed = _tighten(root)
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            changed += _tighten(Path(folder) / name)
    if changed:
        log.info("data directory %s: %d entries made owner-only (0700/0600)", root, changed)
    return changed


def _tighten(path: Path) -> int:
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed while walking (a run finished): nothing to fix
        return 0
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
        return 0
    path.chmod(stat.S_IMODE(info.st_mode) & 0o700)
    return 1
