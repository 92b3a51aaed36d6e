"""`trace_sink`: every span recorded during a test, with tracing turned on for it (a sink
installed in `conveyor.core.tracing`, removed afterwards). A pytest plugin of the suite
(`tests/conftest.py`); `ListSink` is the sink's type for annotations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.core import tracing
from conveyor.core.tracing import SpanData


class ListSink:
    def __init__(self) -> None:
        self.spans: list[SpanData] = []

    def emit(self, span: SpanData) -> None:
        self.spans.append(span)


@pytest.fixture
def trace_sink() -> Iterator[ListSink]:
    found = ListSink()
    tracing.install(found)
    try:
        yield found
    finally:
        tracing.install(None)
