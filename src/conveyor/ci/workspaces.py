"""A job's work directory: removed when the job ends, swept after a crash, bounded in size.

Issue 18 #3. The local pool (`ci.pool`) and remote agents (`ci.agent`) give each job a work
directory (the clone, `run/_work/<job>/{workspace,_temp,_tool}`, artifacts on their way) and
`remove` it when the job concludes — the logs and artifacts the job reported live on in the
server, under their own retention (`ci.retention`). A server or agent killed mid-job leaves
its directories behind; `sweep` removes them when it starts again (the job's processes died
with it: `runners.guardian`). `DiskBound` (run by `ci.executor` beside the job) measures the
directory every few seconds and ends a job that used more than its limit, with a message
that says so; GitHub's hosted runners bound a job by the disk they have (~14 GB free).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GIB = 1 << 30
DEFAULT_DISK_LIMIT = 10 * GIB


def remove(path: Path) -> bool:
    """Remove a work directory and everything in it; a failure is logged with the path (the
    disk stays used until someone removes it), never raised into the job's result."""
    if not path.exists():
        return True

    def writable(func: Callable[..., object], name: str, _exc: object) -> None:
        # a read-only folder (chmod -w, Go's module cache) cannot lose entries: open it up
        parent = Path(name).parent
        os.chmod(parent, stat.S_IRWXU)  # noqa: PTH101 - the onerror protocol gives a str
        func(name)

    try:
        shutil.rmtree(path, onerror=writable)
    except OSError as exc:
        log.error("cannot remove the work directory %s (%s); it keeps using disk", path, exc)
        return False
    return True


def sweep(root: Path, *, keep: Iterable[str] = ()) -> list[Path]:
    """Remove what jobs of a dead server or agent left in `root` (all but `keep`)."""
    kept = set(keep)
    if not root.is_dir():
        return []
    gone = [entry for entry in sorted(root.iterdir()) if entry.name not in kept]
    for entry in gone:
        log.warning("removing %s, the work directory of a job that ended with its runner", entry)
        if entry.is_dir() and not entry.is_symlink():
            remove(entry)
        else:
            entry.unlink(missing_ok=True)
    return gone


def disk_usage(path: Path) -> int:
    """Bytes of disk used under `path` (allocated blocks; hard links counted once;
    symbolic links not followed)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            try:
                info = os.lstat(os.path.join(folder, name))  # noqa: PTH118 - hot loop
            except OSError:
                continue  # removed while we looked
            key = (info.st_dev, info.st_ino)
            if info.st_nlink > 1 and key in seen:
                continue
            seen.add(key)
            total += info.st_blocks * 512
    return total


def exceeded_message(limit: int) -> str:
    return (
        f"the job used more than {limit / GIB:g} GiB of disk in its workspace and was "
        "stopped; write less (or clean up as the job goes), or raise the server's "
        "--job-disk-limit"
    )


class DiskBound:
    """Watches a job's work directory; `exceeded` holds the message once it went over."""

    def __init__(self, path: Path, limit: int, *, every: float = 2.0) -> None:
        self.path, self.limit, self.every = path, limit, every
        self.exceeded = ""

    async def watch(self, job: asyncio.Future[Any]) -> None:
        """Measure until `job` ends; cancel it when the directory is over the limit. A walk
        that takes long is repeated less often (at most 10% of the time walking)."""
        pause = self.every
        while not job.done():
            await asyncio.sleep(pause)
            started = time.monotonic()
            used = await asyncio.to_thread(disk_usage, self.path)
            pause = max(self.every, 10 * (time.monotonic() - started))
            if used > self.limit:
                self.exceeded = exceeded_message(self.limit)
                log.warning("%s: %d bytes used; %s", self.path, used, self.exceeded)
                job.cancel()
                return
