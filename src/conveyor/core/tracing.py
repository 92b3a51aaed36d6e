"""Trace vocabulary (issue 17): span identities, one span's record, and where spans go.

Conveyor's server, runners and reconciler are separate processes that never share a
request, yet one commit's delivery should be one trace. The commit links them: every
process derives the trace id from the source commit's SHA (`commit_trace`), and the root
span's id from the trace id, so each puts its spans into the same trace without carrying
context through Git. Where a context is handed over anyway (the job payload to a runner,
a W3C `traceparent` header on a webhook), `SpanRef` is its value and `traceparent()` /
`parse_traceparent()` its text.

Spans are records (`SpanData`) with explicit start and end times, so a stage can be
recorded by whoever knows its end (`record`), and live code can time a block (`span`).
Both go to the installed `Sink` (`install`, done by `conveyor.app.tracing` when an OTLP
endpoint is configured) or to a `collect()` list (a runner hands its job's spans to the
server with the job's result). With neither, nothing happens: `span` and `record` return
at once, no SDK is imported and no clock is read (off by default, no cost when off).

Called by `ci` (runs, jobs), `workflow.run` (steps, image pushes), `reconcile` (deploys)
and `app` (the exporter and the log formatter). Imports nothing of Conveyor's; no I/O.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

Attributes = Mapping[str, str | int | float | bool]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
MAX_NAME = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanRef:
    """A span's identity: enough to parent another span to it, in any process."""

    trace_id: int  # 128 bits, never 0
    span_id: int  # 64 bits, never 0

    def traceparent(self) -> str:
        """The W3C Trace Context header value (version 00, sampled)."""
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-01"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanData:
    """One finished span, as every sink receives it."""

    name: str
    ref: SpanRef
    parent_id: int  # 0: a root span
    start_ns: int
    end_ns: int
    attributes: Attributes = field(default_factory=dict)
    error: str = ""  # "" when the span succeeded; else what failed (no secrets)
    links: tuple[SpanRef, ...] = ()

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


class Sink(Protocol):
    """Where finished spans go (the OTLP exporter of `conveyor.app.tracing`)."""

    def emit(self, span: SpanData) -> None: ...


_sink: Sink | None = None
_current: ContextVar[SpanRef | None] = ContextVar("conveyor_span", default=None)
_collector: ContextVar[list[SpanData] | None] = ContextVar("conveyor_spans", default=None)


def install(sink: Sink | None) -> None:
    """Send every span from now on to `sink` (None: tracing off again)."""
    global _sink  # noqa: PLW0603 - one process-wide exporter, as OpenTelemetry's provider
    _sink = sink


def enabled() -> bool:
    """Whether a span recorded here would go anywhere (a sink, or a `collect()` list)."""
    return _sink is not None or _collector.get() is not None


def current() -> SpanRef | None:
    """The span the running code is inside (for log lines and child spans)."""
    return _current.get()


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(("conveyor-trace", *parts)).encode()).digest()


def commit_trace(sha: str) -> SpanRef:
    """The root span of a commit's delivery trace: both ids derived from the SHA alone.

    The SHA alone (not the repository's name) because the reconciler learns a deploy's
    source only as the `Conveyor-Source-Commit` trailer of the promotion commit."""
    digest = _digest("commit", sha.strip().lower())
    trace_id = int.from_bytes(digest[:16], "big") or 1
    return SpanRef(trace_id=trace_id, span_id=int.from_bytes(digest[16:24], "big") or 1)


def derived(parent: SpanRef, *parts: str) -> SpanRef:
    """A span id every process computes alike from its parent span and a name (a run's
    span under the commit's root; a deploy's `sync` under that deploy). The parent's span
    id is part of it, so the same name under two parents (each deploy's stages) gives two
    spans."""
    digest = _digest(f"{parent.trace_id:032x}", f"{parent.span_id:016x}", *parts)
    return SpanRef(trace_id=parent.trace_id, span_id=int.from_bytes(digest[:8], "big") or 1)


def child_of(parent: SpanRef) -> SpanRef:
    """A fresh span id in `parent`'s trace."""
    return SpanRef(trace_id=parent.trace_id, span_id=random.getrandbits(64) or 1)


def parse_traceparent(value: str | None) -> SpanRef | None:
    """A W3C `traceparent` value, or None when absent or malformed (then ignored, as the
    Trace Context spec says: a receiver starts a new trace instead)."""
    found = _TRACEPARENT.match((value or "").strip().lower())
    if found is None or set(found[1]) == {"0"} or set(found[2]) == {"0"}:
        return None
    return SpanRef(trace_id=int(found[1], 16), span_id=int(found[2], 16))


def record(
    name: str,
    *,
    ref: SpanRef,
    parent: SpanRef | None,
    start: float,
    end: float,
    attributes: Attributes | None = None,
    error: str = "",
    links: tuple[SpanRef, ...] = (),
) -> None:
    """Record a span whose times are known (epoch seconds), e.g. a run from the store."""
    if not enabled():
        return
    _emit(
        SpanData(
            name=name[:MAX_NAME],
            ref=ref,
            parent_id=parent.span_id if parent is not None else 0,
            start_ns=int(start * 1e9),
            end_ns=max(int(end * 1e9), int(start * 1e9)),
            attributes=dict(attributes or {}),
            error=error,
            links=links,
        )
    )


def _emit(span: SpanData) -> None:
    collected = _collector.get()
    if collected is not None:
        collected.append(span)
    elif _sink is not None:
        _sink.emit(span)


@dataclass(slots=True)
class Opened:
    """A span being timed by `span`: set `error` to mark it failed without raising."""

    ref: SpanRef
    error: str = ""


@contextmanager
def span(
    name: str, *, parent: SpanRef | None = None, attributes: Attributes | None = None
) -> Iterator[Opened | None]:
    """Time the block as a child of `parent` (default: the current span). Outside any
    trace, or with tracing off, it yields None and records nothing."""
    above = parent or _current.get()
    if above is None or not enabled():
        yield None
        return
    opened = Opened(ref=child_of(above))
    token = _current.set(opened.ref)
    start = time.time()
    try:
        yield opened
    except BaseException as exc:
        opened.error = opened.error or type(exc).__name__
        raise
    finally:
        _current.reset(token)
        record(
            name, ref=opened.ref, parent=above, start=start, end=time.time(),
            attributes=attributes, error=opened.error,
        )  # fmt: skip


@contextmanager
def inside(ref: SpanRef | None) -> Iterator[None]:
    """Run the block as if inside `ref` (its log lines carry the trace id; spans it opens
    are `ref`'s children) without recording `ref` itself (someone else records it)."""
    if ref is None:
        yield
        return
    token = _current.set(ref)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def collect() -> Iterator[list[SpanData]]:
    """Keep the spans recorded inside the block in a list instead of the sink: a runner
    sends its job's spans to the server with the job's result (`to_json`)."""
    spans: list[SpanData] = []
    token = _collector.set(spans)
    try:
        yield spans
    finally:
        _collector.reset(token)


def to_json(data: SpanData) -> dict[str, Any]:
    """A span as the job result carries it (ids as hex, like traceparent)."""
    return {
        "name": data.name,
        "trace_id": f"{data.ref.trace_id:032x}",
        "span_id": f"{data.ref.span_id:016x}",
        "parent_id": f"{data.parent_id:016x}",
        "start_ns": data.start_ns,
        "end_ns": data.end_ns,
        "attributes": dict(data.attributes),
        "error": data.error,
    }


def from_json(item: Mapping[str, Any]) -> SpanData:
    """The inverse of `to_json`; ValueError/KeyError/TypeError on a malformed item."""
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise TypeError("attributes must be a mapping")
    return SpanData(
        name=str(item["name"])[:MAX_NAME],
        ref=SpanRef(trace_id=int(item["trace_id"], 16), span_id=int(item["span_id"], 16)),
        parent_id=int(item["parent_id"], 16),
        start_ns=int(item["start_ns"]),
        end_ns=int(item["end_ns"]),
        attributes={
            str(k)[:MAX_NAME]: v
            for k, v in attributes.items()
            if isinstance(v, str | int | float | bool)
        },
        error=str(item.get("error") or "")[:MAX_NAME],
    )


def emit(data: SpanData) -> None:
    """Send a span recorded elsewhere (a runner's) to this process's sink."""
    if enabled():
        _emit(data)
