"""A remote runner's log lines go up in batches well under the server's `logs` body cap."""

from __future__ import annotations

from conveyor.ci.agent import LOG_BATCH, log_batches
from conveyor.server.limits import BodyLimits


def test_batches_keep_order_and_stay_under_the_cap() -> None:
    lines = [("build", f"line {i} " + "x" * 1000) for i in range(3000)]
    batches = log_batches(lines)
    assert [line for batch in batches for line in batch] == lines
    assert len(batches) > 1
    for batch in batches:
        assert sum(len(job) + len(text) + 8 for job, text in batch) <= LOG_BATCH + 1100
    assert BodyLimits().logs > LOG_BATCH * 6  # even if JSON escapes every character


def test_a_line_longer_than_a_batch_goes_alone_and_nothing_is_empty() -> None:
    lines = [("a", "short"), ("a", "y" * (LOG_BATCH + 1)), ("a", "after")]
    assert log_batches(lines) == [[lines[0]], [lines[1]], [lines[2]]]
    assert log_batches([]) == []
