"""Custom health scripts in Argo CD's format, run by a real Lua (lupa's Lua 5.1, the
dialect of gopher-lua that Argo CD embeds): the script sees the live object as the global
`obj` and returns a table `hs` with `status` (Healthy, Progressing, Degraded, Suspended,
Missing, Unknown) and an optional `message`.

As in Argo CD, a script that fails, returns something other than a table, or names a
status outside that list makes the object Unknown with the reason as message. Bounds:
* time: a script running past `timeout` (1 s, Argo CD's) is stopped by the count hook
  (`sandbox`); a single C call the hook cannot interrupt is given up on at twice that by
  a `Watchdog` thread. Either way the object is Unknown, "… timed out after 1s". The
  abandoned call keeps a core busy until it returns, so a script that needed the
  watchdog is not run again by this process (its objects stay Unknown, saying why);
* memory: the runtime's allocator refuses past `max_memory`; the script fails with Lua's
  "not enough memory".
One runtime is reused across evaluations (compiled scripts cached by source; see
bench/health_lua.py for what reuse saves), and replaced after a timeout or a memory
failure. Called by `health.checker.Checker`, and by `reconcile.healthconfig` to check
syntax at load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lupa import LuaError, LuaMemoryError, lua51  # type: ignore[import-untyped]

from conveyor.reconcile.health.sandbox import BOOTSTRAP, MAX_SUBJECT, TIMED_OUT
from conveyor.reconcile.health.verdict import Verdict
from conveyor.reconcile.health.watchdog import Watchdog
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

TIMEOUT = 1.0
MAX_MEMORY = 64 * 1024 * 1024
_STATUSES = {status.value: status for status in HealthStatus}
_NO_MEMORY = "not enough memory"
_STUCK = (
    "health script not run: it timed out earlier in a call that could not be interrupted;"
    " fix the script and restart Conveyor"
)
#: Outcomes after which a runtime is not reused.
_BREAKING = ("timeout", "broken")


class LuaRuntime:
    """One sandboxed lupa runtime: compile and evaluate; no bounds beyond the hook's."""

    def __init__(self, *, max_memory: int = MAX_MEMORY, clock: Callable[[], float]) -> None:
        self._lua = lua51.LuaRuntime(
            max_memory=max_memory,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
        )
        self._compile, self._run = self._lua.execute(BOOTSTRAP, clock, MAX_SUBJECT, TIMED_OUT)
        self._cache: dict[str, tuple[Any, str]] = {}

    def compiled(self, source: str, name: str) -> tuple[Any, str]:
        """(the compiled chunk, "") or (None, Lua's syntax error message)."""
        if source not in self._cache:
            chunk, error = self._compile(source, name)
            self._cache[source] = (chunk, "") if chunk else (None, str(error))
        return self._cache[source]

    def evaluate(self, source: str, name: str, obj: Manifest, timeout: float) -> tuple[Any, ...]:
        """("ok", status, message) | ("error", message) | ("timeout",) | ("broken", message)."""
        chunk, error = self.compiled(source, name)
        if chunk is None:
            return ("error", error)
        try:
            outcome = self._run(chunk, self._lua.table_from(obj, recursive=True), timeout)
        except (LuaMemoryError, MemoryError):
            return ("broken", f"{name}: {_NO_MEMORY}")
        except LuaError as exc:  # outside the protected call: the runtime is suspect
            return ("broken", f"{name}: {exc}")
        if outcome[0] == "error" and str(outcome[1]).endswith(_NO_MEMORY):
            return ("broken", f"{name}: {_NO_MEMORY}")
        return tuple(outcome)


class LuaHealth:
    """Evaluates health scripts with time and memory bounds; calls are serialized."""

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT,
        max_memory: int = MAX_MEMORY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.max_memory = max_memory
        self.clock = clock
        self.resets = 0
        self._stuck: set[str] = set()  # scripts whose call had to be abandoned
        self._watchdog = Watchdog()
        self._runtime = self._fresh()

    def syntax_error(self, source: str, name: str) -> str:
        """Lua's message when `source` does not compile (`name:3: 'end' expected near …`),
        or ""."""
        return self._runtime.compiled(source, name)[1]

    def run(self, source: str, name: str, obj: Manifest) -> Verdict:
        """The health the script `source` (called `name` in messages) gives `obj`."""
        if source in self._stuck:
            return Verdict(HealthStatus.UNKNOWN, f"{name}: {_STUCK}")
        runtime = self._runtime
        finished, outcome = self._watchdog.call(
            lambda: runtime.evaluate(source, name, obj, self.timeout), limit=2 * self.timeout
        )
        if not finished:
            self._stuck.add(source)
            outcome = ("timeout",)
        if outcome[0] in _BREAKING:
            self._runtime = self._fresh()
        return self._verdict(name, outcome)

    def _verdict(self, name: str, outcome: tuple[Any, ...]) -> Verdict:
        kind, *rest = outcome
        if kind == "timeout":
            return Verdict(HealthStatus.UNKNOWN, f"{name}: {TIMED_OUT} after {self.timeout:g}s")
        if kind != "ok":
            message = str(rest[0])
            prefixed = message.startswith(f"{name}:")
            return Verdict(HealthStatus.UNKNOWN, message if prefixed else f"{name}: {message}")
        status, message = [*rest, None, None][:2]
        if not isinstance(status, str) or status not in _STATUSES:
            return Verdict(
                HealthStatus.UNKNOWN, f"{name}: Lua returned an invalid health status {status!r}"
            )
        if message is not None and not isinstance(message, (str, int, float)):
            return Verdict(HealthStatus.UNKNOWN, f"{name}: Lua returned a message that is not text")
        return Verdict(_STATUSES[status], "" if message is None else str(message))

    def _fresh(self) -> LuaRuntime:
        """A new runtime (at start, and after a script broke or outran the last one)."""
        self.resets += 1
        return LuaRuntime(max_memory=self.max_memory, clock=self.clock)
