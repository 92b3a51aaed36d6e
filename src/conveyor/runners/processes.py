"""The Linux process table as the host runner needs it: who is left of a job, and ending them.

Used by `conveyor.runners.host` only. Reads /proc directly (one small read per file) because
`killpg(pgid, 0)` also succeeds for zombies, which stay around when PID 1 does not reap
re-parented orphans (as in this project's containers).
"""

from __future__ import annotations

import contextlib
import os


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The group id was recycled by someone else's session: not ours to touch.
        return False
    return True


def send_signal(pid: int, sig: int) -> None:
    """Signal one process; a process already gone (or not ours) is ignored."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _read(path: str) -> bytes | None:
    """A small /proc file in one read; None when the process is gone or not readable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = [os.read(fd, 1 << 16)]
        while chunks[-1]:  # environ may be larger than one read
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _stat(pid: str) -> tuple[bytes, int, int] | None:
    """(state, process group, start time in clock ticks) of a process; None when gone."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # Fields after the `(comm)`, which may itself contain spaces or parentheses.
    fields = stat[stat.rfind(b")") + 2 :].split()
    return (fields[0], int(fields[2]), int(fields[19])) if len(fields) > 19 else None


def ticks_since_boot() -> int:
    """Now, in the unit of /proc/<pid>/stat's start time (0 when /proc is unavailable)."""
    uptime = _read("/proc/uptime")
    if uptime is None:
        return 0
    return int(float(uptime.split()[0]) * os.sysconf("SC_CLK_TCK"))


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    found = _stat(str(pid))
    return found is not None and found[0] not in (b"Z", b"X")


def group_alive(pgid: int) -> bool:
    """True while the group has a member that is not a zombie.

    `killpg(pgid, 0)` also succeeds for zombies, which stay around here when PID 1 does not
    reap re-parented orphans, so /proc is read to tell a live member from a dead one.
    """
    try:
        entries = os.listdir("/proc")  # noqa: PTH208 - names only, no Path objects per entry
    except OSError:
        return signal_group(pgid, 0)
    for entry in entries:
        if entry.isdigit():
            found = _stat(entry)
            if found is not None and found[1] == pgid and found[0] not in (b"Z", b"X"):
                return True
    return False


def job_processes(groups: set[int], tracking: bytes, since: int) -> list[int]:
    """Live processes in one of `groups`, or started after `since` (clock ticks since boot)
    whose environment holds `tracking`; one pass over /proc."""
    try:
        entries = os.listdir("/proc")  # noqa: PTH208 - names only, no Path objects per entry
    except OSError:
        return []
    own = os.getpid()
    found: list[int] = []
    for entry in entries:
        if not entry.isdigit() or int(entry) == own:
            continue
        stat = _stat(entry)
        if stat is None or stat[0] in (b"Z", b"X"):
            continue
        if stat[1] in groups or (stat[2] >= since and _carries(entry, tracking)):
            found.append(int(entry))
    return found


def _carries(pid: str, tracking: bytes) -> bool:
    environ = _read(f"/proc/{pid}/environ")
    return environ is not None and tracking in environ.split(b"\0")
