"""What every part of the CI service shares: the store, the secret box, the configuration,
the masker, the queue's wake-up call, the run lock, the counters and the clock.

`CIService` (`ci.service`) builds one `Deps` and hands it to each collaborator
(`ci.wiring`); `ServiceConfig` is what `conveyor.server.main` configures.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conveyor.ci.crypto import SecretBox
from conveyor.ci.retention import DEFAULT_RETENTION_DAYS
from conveyor.ci.workspaces import DEFAULT_DISK_LIMIT
from conveyor.core.notices import NoNotices, Publisher
from conveyor.store.ci_store import CIStore
from conveyor.workflow.run.masking import Masker

LOCAL_LABELS = (
    "self-hosted",
    "linux",
    "x64",
    "local",
    "ubuntu-latest",
    "ubuntu-24.04",
    "ubuntu-22.04",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceConfig:
    """Where the service keeps repositories and work directories, and its timings."""

    data_dir: Path
    heartbeat_timeout: float = 30.0
    cancel_timeout: float = 300.0  # GitHub's: a cancelled job still running is then ended
    local_labels: tuple[str, ...] = LOCAL_LABELS
    public_url: str = ""  # how remote runners reach /git (clone URLs)
    job_disk_limit: int = DEFAULT_DISK_LIMIT  # bytes a job's work directory may use; 0: any
    retention_days: float = DEFAULT_RETENTION_DAYS  # logs and artifacts of concluded runs
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def git_root(self) -> Path:
        return self.data_dir / "git"


class Wake(asyncio.Event):
    """The queue's wake-up call, set by code on the server's loop and by the sync routes in
    worker threads (a plain asyncio.Event set off its loop wakes no waiter until the
    waiter's timeout: a second per job handed from a remote runner to the next)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def wait(self) -> Literal[True]:
        self.loop = asyncio.get_running_loop()
        return await super().wait()

    def set(self) -> None:
        loop = self.loop
        if loop is not None and loop.is_running():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(super().set)
                return
        super().set()


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    """The shared state of the service's parts (one per `CIService`)."""

    store: CIStore
    box: SecretBox
    config: ServiceConfig
    masker: Masker = field(default_factory=Masker)  # every secret value seen: masks logs
    wake: asyncio.Event = field(default_factory=Wake)
    lock: threading.RLock = field(default_factory=threading.RLock)  # run advancement
    counters: dict[str, int] = field(default_factory=dict)  # served by /metrics
    clock: Callable[[], float] = time.time
    notices: Publisher = field(default_factory=NoNotices)  # issue 17: `conveyor.notify`

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1
