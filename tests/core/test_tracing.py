"""`conveyor.core.tracing`: derived ids, W3C traceparent, spans, collection, the wire form."""

from __future__ import annotations

import pytest

from conveyor.core import tracing
from conveyor.core.tracing import SpanRef
from tests.tracingsink import ListSink


def test_every_process_derives_the_same_trace_from_the_commit() -> None:
    sha = "3f2c" * 10
    assert tracing.commit_trace(sha) == tracing.commit_trace(sha.upper() + "\n")
    assert tracing.commit_trace(sha).trace_id != tracing.commit_trace("a" * 40).trace_id
    run = tracing.derived(tracing.commit_trace(sha), "run", "7")
    assert run == tracing.derived(tracing.commit_trace(sha), "run", "7")
    assert run.trace_id == tracing.commit_trace(sha).trace_id
    assert run.span_id != tracing.derived(tracing.commit_trace(sha), "run", "8").span_id


def test_the_same_name_under_two_parents_is_two_spans() -> None:
    root = tracing.commit_trace("3f2c" * 10)
    dev, prod = tracing.derived(root, "deploy", "dev"), tracing.derived(root, "deploy", "prod")
    assert tracing.derived(dev, "sync") != tracing.derived(prod, "sync")
    assert tracing.derived(dev, "sync") == tracing.derived(dev, "sync")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",  # all-zero span id
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # unknown version
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
        "garbage",
    ],
)
def test_a_malformed_traceparent_is_ignored(value: str | None) -> None:
    assert tracing.parse_traceparent(value) is None


def test_traceparent_round_trips() -> None:
    ref = SpanRef(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7)
    assert ref.traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert tracing.parse_traceparent(ref.traceparent()) == ref


def test_with_tracing_off_a_span_records_nothing_and_yields_none() -> None:
    assert not tracing.enabled()
    parent = tracing.commit_trace("a" * 40)
    with tracing.span("step", parent=parent) as opened:
        assert opened is None


def test_outside_any_trace_a_span_records_nothing(trace_sink: ListSink) -> None:
    with tracing.span("orphan") as opened:
        assert opened is None
    assert trace_sink.spans == []


def test_nested_spans_are_children_and_failures_are_marked(trace_sink: ListSink) -> None:
    root = tracing.commit_trace("b" * 40)
    with tracing.inside(root):
        with tracing.span("job", attributes={"n": 1}) as job:
            assert job is not None
            assert tracing.current() == job.ref
            with tracing.span("step") as step:
                assert step is not None
                step.error = "failure"
            with pytest.raises(ValueError), tracing.span("broken"):
                raise ValueError("x")
        assert tracing.current() == root
    assert tracing.current() is None
    by_name = {s.name: s for s in trace_sink.spans}
    assert by_name["job"].parent_id == root.span_id
    assert by_name["job"].ref.trace_id == root.trace_id
    assert by_name["step"].parent_id == by_name["job"].ref.span_id
    assert by_name["step"].error == "failure"
    assert by_name["broken"].error == "ValueError"
    assert by_name["job"].attributes == {"n": 1}
    assert by_name["job"].start_ns <= by_name["step"].start_ns <= by_name["step"].end_ns
    assert by_name["step"].end_ns <= by_name["job"].end_ns


def test_collected_spans_skip_the_sink_and_survive_the_wire(trace_sink: ListSink) -> None:
    root = tracing.commit_trace("c" * 40)
    with tracing.collect() as spans, tracing.span("job", parent=root):
        pass
    assert trace_sink.spans == []
    assert [s.name for s in spans] == ["job"]
    assert tracing.from_json(tracing.to_json(spans[0])) == spans[0]


def test_collection_works_without_a_sink() -> None:
    root = tracing.commit_trace("d" * 40)
    with tracing.collect() as spans:
        assert tracing.enabled()
        tracing.record("stage", ref=tracing.derived(root, "s"), parent=root, start=1.0, end=2.5)
    assert spans[0].seconds == 1.5
    assert not tracing.enabled()


@pytest.mark.parametrize(
    "item",
    [
        {},
        {"name": "x", "trace_id": "zz", "span_id": "1", "parent_id": "0", "start_ns": 1,
         "end_ns": 2},
        {"name": "x", "trace_id": "1", "span_id": "1", "parent_id": "0", "start_ns": 1,
         "end_ns": 2, "attributes": "a=b"},
    ],
)  # fmt: skip
def test_a_malformed_wire_span_is_refused(item: dict[str, object]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        tracing.from_json(item)
