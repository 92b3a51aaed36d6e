"""A wall-clock bound on calls that cannot be interrupted from inside: `Watchdog.call`
runs a function on a daemon thread and stops waiting for it after `limit` seconds.

Custom health scripts need it because Lua's count hook (see `sandbox`) only fires between
VM instructions: one library call in C, such as a pattern match that backtracks over a
long string, can run for minutes. lupa releases the GIL while Lua runs, so the thread
keeps running on its own; on a timeout the watchdog abandons it (it exits once its call
returns, and the caller must not touch what that call was using) and the next call gets
a new thread. Calls are serialized. Called by `health.lua.LuaHealth`. No I/O.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class _Job:
    fn: Callable[[], Any]
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class Watchdog:
    """One worker thread at a time; `abandoned` counts the threads given up on."""

    def __init__(self, name: str = "conveyor-lua") -> None:
        self.name = name
        self.abandoned = 0
        self._lock = threading.Lock()
        self._inbox: queue.SimpleQueue[_Job | None] | None = None

    def call(self, fn: Callable[[], Any], *, limit: float) -> tuple[bool, Any]:
        """(True, fn's value) or (False, None) when it ran past `limit` seconds; fn's own
        exceptions are raised here."""
        job = _Job(fn)
        with self._lock:
            inbox = self._inbox or self._spawn()
            inbox.put(job)
            if not job.done.wait(limit):
                inbox.put(None)  # the worker exits after its current call
                self._inbox = None
                self.abandoned += 1
                return False, None
        if job.error is not None:
            raise job.error
        return True, job.value

    def _spawn(self) -> queue.SimpleQueue[_Job | None]:
        inbox: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        threading.Thread(target=_serve, args=(inbox,), name=self.name, daemon=True).start()
        self._inbox = inbox
        return inbox


def _serve(inbox: queue.SimpleQueue[_Job | None]) -> None:
    while (job := inbox.get()) is not None:
        try:
            job.value = job.fn()
        except BaseException as exc:  # handed to the caller, raised in its thread
            job.error = exc
        finally:
            job.done.set()
