"""Sending one attempt: an HTTP POST (webhook, Slack, Teams, GitHub) or an SMTP
submission, reduced to an `Attempt` that says whether a retry may help. Called by
`notify.delivery`, which retries.

Retried: connection errors and timeouts, HTTP 429 and 5xx (after `Retry-After` when the
receiver gives one), SMTP 4xx replies. Not retried: other HTTP 4xx (the request itself is
wrong: a retry would fail the same way) and SMTP 5xx. Error texts are masked: no
destination secret (webhook URL, token, password) reaches the record or the log.
"""

from __future__ import annotations

import asyncio
import email.utils
import smtplib
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from conveyor.notify.destinations import Destination
from conveyor.notify.payloads import HttpRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    ok: bool
    status: int = 0  # HTTP status or SMTP reply code; 0 when none came back
    error: str = ""
    retry: bool = False
    retry_after: float | None = None  # seconds the receiver asked us to wait


def mask(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


async def post(client: httpx.AsyncClient, dest: Destination, request: HttpRequest) -> Attempt:
    try:
        response = await client.post(
            request.url, content=request.body, headers=request.headers, timeout=dest.timeout
        )
    except httpx.HTTPError as exc:  # connect, read, timeouts, protocol errors
        return Attempt(ok=False, error=mask(_describe(exc), dest.secrets), retry=True)
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(ok=True, status=status)
    detail = mask(response.text[:200].strip(), dest.secrets)
    retry = status == 429 or status >= 500
    return Attempt(
        ok=False,
        status=status,
        error=f"HTTP {status}" + (f": {detail}" if detail else ""),
        retry=retry,
        retry_after=retry_after(response.headers.get("Retry-After")) if retry else None,
    )


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _describe(exc: BaseException) -> str:
    text = str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"


async def submit(dest: Destination, message: EmailMessage) -> Attempt:
    """One SMTP submission, in a worker thread (smtplib blocks)."""
    try:
        await asyncio.to_thread(_submit, dest, message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = mask(f"recipients refused: {exc.recipients}", dest.secrets)
        return Attempt(ok=False, status=max(codes), error=error, retry=min(codes) < 500)
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        error = mask(f"SMTP {exc.smtp_code}: {reply}", dest.secrets)
        return Attempt(ok=False, status=exc.smtp_code, error=error, retry=exc.smtp_code < 500)
    except (OSError, smtplib.SMTPException) as exc:  # refused, reset, TLS, disconnected
        return Attempt(ok=False, error=mask(_describe(exc), dest.secrets), retry=True)
    return Attempt(ok=True, status=250)


def _submit(dest: Destination, message: EmailMessage) -> None:
    with smtplib.SMTP(dest.host, dest.port, timeout=dest.timeout) as smtp:
        if dest.starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=dest.ca_file or None))
        if dest.username and dest.password is not None:
            smtp.login(dest.username, dest.password.value)
        smtp.send_message(message)
