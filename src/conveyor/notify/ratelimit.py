"""A sliding-window rate limit per destination (`rateLimit: {count, per}`): at most `count`
notices in any `per` seconds. Called by `notify.notifier` before a delivery starts."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from conveyor.notify.destinations import RateLimit


class RateLimits:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}

    def allow(self, destination: str, limit: RateLimit | None) -> bool:
        """True (and counted) when `destination` may take one more notice now."""
        if limit is None:
            return True
        now = self._clock()
        sent = self._sent.setdefault(destination, deque())
        while sent and sent[0] <= now - limit.per:
            sent.popleft()
        if len(sent) >= limit.count:
            return False
        sent.append(now)
        return True
