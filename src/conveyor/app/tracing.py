"""Exports Conveyor's spans over OTLP/HTTP when an endpoint is configured (issue 17).

Configuration is OpenTelemetry's own environment variables, read by the official SDK and
exporter: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL, e.g.
`http://collector:4318/v1/traces`) or `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, `/v1/traces`
appended), `OTEL_EXPORTER_OTLP_HEADERS` / `..._TRACES_HEADERS` (e.g. an auth header),
`OTEL_SERVICE_NAME` (default: the process's role, `conveyor-server`, `conveyor-runner`,
`conveyor-reconciler`), `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` to turn it
off, and the batch processor's `OTEL_BSP_*`. With no endpoint, `setup` returns False before
importing anything: the SDK is never loaded and `conveyor.core.tracing` stays a no-op.

Spans are recorded by `conveyor.core.tracing` with their own ids (derived from the commit,
so the server, the runners and the reconciler agree on them) and explicit times;
`_SdkSink` replays each through the SDK's tracer with an `IdGenerator` that hands out those
ids, so the SDK's sampler, batch processor and exporter work as they do for any span.
`setup` also appends `trace_id=<hex>` to every log line written inside a span
(`TraceIdFormatter`, wrapped around the root handlers' formatters).

Called by `conveyor server` and `conveyor reconcile` after they configure logging;
`conveyor runner` only calls `trace_logs` (its spans go to the server with each job). The
SDK and the OTLP exporter are the `tracing` extra (`pip install 'conveyor[tracing]'`); an
endpoint configured without them is refused.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from conveyor.core import tracing
from conveyor.core.errors import UserError

log = logging.getLogger(__name__)

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_ids: ContextVar[tuple[int, int]] = ContextVar("conveyor_span_ids", default=(0, 0))
_shutdown: list[Callable[[], None]] = []


def endpoint(environ: Mapping[str, str] | None = None) -> str:
    """The configured OTLP endpoint, or "" when tracing is off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ""
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return ""
    return next((env[v].strip() for v in ENDPOINT_VARS if env.get(v, "").strip()), "")


def setup(role: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install the OTLP exporter for this process (`role`: server, runner, reconciler) if an
    endpoint is configured; True when spans are now exported."""
    url = endpoint(environ)
    if not url:
        return False
    if not url.startswith(("http://", "https://")):
        raise UserError(
            f"OTLP endpoint {url!r} is not an http(s) URL",
            hint="set OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 (OTLP/HTTP)",
        )
    tracing.install(_sdk_sink(role))
    add_trace_ids_to_logs()
    log.info("tracing: spans go to %s over OTLP/HTTP", url)
    return True


def trace_logs(environ: Mapping[str, str] | None = None) -> bool:
    """For a runner agent, whose spans travel with each job's result to the server (which
    exports them): only `trace_id=` in its log lines, when tracing is configured."""
    if not endpoint(environ):
        return False
    add_trace_ids_to_logs()
    return True


def shutdown() -> None:
    """Flush and stop the exporter (also run at exit)."""
    tracing.install(None)
    while _shutdown:
        _shutdown.pop()()


def _sdk_sink(role: str) -> tracing.Sink:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.id_generator import IdGenerator
    except ImportError as exc:
        raise UserError(
            f"an OTLP endpoint is configured but the OpenTelemetry SDK is missing ({exc})",
            hint="install the tracing extra: pip install 'conveyor[tracing]', or unset "
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ) from exc

    class _GivenIds(IdGenerator):
        """Hands out the ids `conveyor.core.tracing` chose for the span being replayed."""

        def generate_span_id(self) -> int:
            return _ids.get()[1]

        def generate_trace_id(self) -> int:
            return _ids.get()[0]

    name = os.environ.get("OTEL_SERVICE_NAME") or f"conveyor-{role}"
    resource = Resource.create({"service.name": name, "conveyor.component": role})
    provider = TracerProvider(resource=resource, id_generator=_GivenIds())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _shutdown.append(provider.shutdown)
    atexit.register(shutdown)
    return _SdkSink(provider.get_tracer("conveyor"))


class _SdkSink:
    """Replays `SpanData` through the SDK's tracer: same ids, times, parent and links."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def emit(self, span: tracing.SpanData) -> None:
        from opentelemetry import trace
        from opentelemetry.context import Context
        from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags
        from opentelemetry.trace.status import Status, StatusCode

        def context_of(trace_id: int, span_id: int) -> SpanContext:
            flags = TraceFlags(TraceFlags.SAMPLED)
            return SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)

        parent = Context()  # no parent: a root span
        if span.parent_id:
            remote = NonRecordingSpan(context_of(span.ref.trace_id, span.parent_id))
            parent = trace.set_span_in_context(remote)
        token = _ids.set((span.ref.trace_id, span.ref.span_id))
        try:
            started = self.tracer.start_span(
                span.name,
                context=parent,
                attributes=dict(span.attributes),
                links=[Link(context_of(r.trace_id, r.span_id)) for r in span.links],
                start_time=span.start_ns,
            )
        finally:
            _ids.reset(token)
        if span.error:
            started.set_status(Status(StatusCode.ERROR, span.error))
        started.end(end_time=span.end_ns)


class TraceIdFormatter(logging.Formatter):
    """Appends ` trace_id=<32 hex>` to a line written inside a span (else unchanged)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        ref = tracing.current()
        return f"{text} trace_id={ref.trace_id:032x}" if ref is not None else text


def add_trace_ids_to_logs(logger: logging.Logger | None = None) -> None:
    """Wrap the formatter of each of the (root) logger's handlers, once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not isinstance(handler.formatter, TraceIdFormatter):
            handler.setFormatter(TraceIdFormatter(handler.formatter))
