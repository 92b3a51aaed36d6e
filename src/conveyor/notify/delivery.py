"""One delivery of one notice to one destination: render its template, build the
destination's request, send it, and retry what a retry can fix with exponential backoff
and jitter (honouring `Retry-After`), recording every attempt. Called by
`notify.notifier`, one task per delivery, so a slow receiver holds up nobody else.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from conveyor.core.notices import Notice
from conveyor.notify import payloads
from conveyor.notify.config import Retry
from conveyor.notify.destinations import Destination, Kind
from conveyor.notify.routing import Route
from conveyor.notify.senders import Attempt, post, submit
from conveyor.notify.templates import Rendered, Template, TemplateFailed, render
from conveyor.store.notify_store import DeliveryState, DeliveryStore

log = logging.getLogger(__name__)
MAX_RETRY_AFTER = 3600.0  # a receiver asking for more than an hour is not waited for longer


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What every delivery shares (built once by the notifier)."""

    store: DeliveryStore
    client: httpx.AsyncClient
    retry: Retry
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    jitter: Callable[[], float] = field(default=random.random)


async def deliver(
    ctx: Context, route: Route, notice: Notice, template: Template, delivery: int
) -> DeliveryState:
    """Deliver until it succeeds, fails for good, or runs out of attempts."""
    dest = route.destination
    try:
        text = render(template, notice)
    except TemplateFailed as exc:
        return _end(ctx, delivery, dest, DeliveryState.FAILED, str(exc))
    for number in range(1, ctx.retry.attempts + 1):
        attempt = await _send(ctx, route, notice, text, delivery)
        last = attempt.ok or not attempt.retry or number == ctx.retry.attempts
        state = _state(attempt, last=last)
        ctx.store.attempted(
            delivery, state=state, status=attempt.status, error=attempt.error, now=ctx.clock()
        )
        if last:
            _log(dest, notice, state, attempt, number)
            return state
        wait = backoff(ctx.retry, number, attempt.retry_after, ctx.jitter())
        log.info(
            "notification %s to %s: attempt %d failed (%s); retrying in %.1fs",
            notice.trigger,
            dest.name,
            number,
            attempt.error,
            wait,
        )
        await ctx.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns")


def backoff(retry: Retry, number: int, retry_after: float | None, jitter: float) -> float:
    """Seconds before attempt `number + 1`: the receiver's Retry-After when it gave one,
    else `backoff * 2^(number-1)` capped at `max_backoff`, jittered into its upper half."""
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_AFTER)
    delay: float = min(retry.max_backoff, retry.backoff * 2.0 ** (number - 1))
    return delay / 2 + delay / 2 * jitter


async def _send(
    ctx: Context, route: Route, notice: Notice, text: Rendered, delivery: int
) -> Attempt:
    dest = route.destination
    if dest.kind == Kind.EMAIL:
        to = route.recipients or dest.to
        return await submit(dest, payloads.email(dest, notice, text, to))
    if dest.kind == Kind.WEBHOOK:
        request: payloads.HttpRequest | str = payloads.webhook(dest, notice, text, delivery)
    elif dest.kind == Kind.SLACK:
        request = payloads.slack(dest, notice, text)
    elif dest.kind == Kind.TEAMS:
        request = payloads.teams(dest, notice, text)
    else:
        request = payloads.commit_status(dest, notice, text)
    if isinstance(request, str):
        return Attempt(ok=False, error=request)
    return await post(ctx.client, dest, request)


def _state(attempt: Attempt, *, last: bool) -> DeliveryState:
    if attempt.ok:
        return DeliveryState.DELIVERED
    return DeliveryState.FAILED if last else DeliveryState.PENDING


def _end(
    ctx: Context, delivery: int, dest: Destination, state: DeliveryState, error: str
) -> DeliveryState:
    ctx.store.finish(delivery, state=state, error=error, now=ctx.clock())
    log.warning("notification to %s not sent: %s", dest.name, error)
    return state


def _log(dest: Destination, notice: Notice, state: DeliveryState, attempt: Attempt, n: int) -> None:
    if state == DeliveryState.DELIVERED:
        log.info("notification %s for %s to %s: delivered", notice.trigger, notice.name, dest.name)
        return
    log.warning(
        "notification %s for %s to %s: %s after %d attempt(s) (%s); not retried",
        notice.trigger,
        notice.name,
        dest.name,
        state,
        n,
        attempt.error,
    )
