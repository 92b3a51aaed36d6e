"""`conveyor.app.tracing`: OTLP/HTTP export to an in-process receiver, off by default with
no SDK imported, and trace ids in log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from conveyor.app import tracing as app_tracing
from conveyor.core import tracing
from conveyor.core.errors import UserError
from tests.observability.otlp import Receiver

_IMPORTED = """
import json, sys
import conveyor.app.cmd_server, conveyor.app.cmd_reconcile, conveyor.app.cmd_runner
import conveyor.ci.service, conveyor.reconcile.reconciler
from conveyor.app import tracing
on = tracing.trace_logs() if sys.argv[1] == "runner" else tracing.setup(sys.argv[1])
print(json.dumps({"on": on, "sdk": sorted(m for m in sys.modules
    if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter")))}))
"""


def _imported(env: dict[str, str], role: str = "server") -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED, role],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_without_an_endpoint_tracing_is_off_and_the_sdk_never_imported() -> None:
    assert _imported({}) == {"on": False, "sdk": []}
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"}
    assert _imported(disabled) == {"on": False, "sdk": []}


def test_with_an_endpoint_the_sdk_and_exporter_are_loaded() -> None:
    found = _imported({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert found["on"] is True
    assert "opentelemetry.exporter.otlp.proto.http.trace_exporter" in list(found["sdk"])  # type: ignore[call-overload]


def test_a_runner_only_adds_trace_ids_to_its_logs_and_loads_no_sdk() -> None:
    found = _imported({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, "runner")
    assert found == {"on": True, "sdk": []}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ""),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://c:4318"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/v1/traces"},
         "http://t:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, ""),
    ],
)  # fmt: skip
def test_the_endpoint_comes_from_opentelemetrys_variables(
    env: dict[str, str], expected: str
) -> None:
    assert app_tracing.endpoint(env) == expected


def test_an_endpoint_that_is_not_http_is_refused() -> None:
    with pytest.raises(UserError, match="not an http"):
        app_tracing.setup("server", {"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://c:4317"})


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as found:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", found.url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "conveyor-test")
        try:
            yield found
        finally:
            app_tracing.shutdown()


def test_spans_reach_the_receiver_with_their_ids_times_parents_and_status(
    receiver: Receiver,
) -> None:
    assert app_tracing.setup("reconciler")
    root = tracing.commit_trace("e" * 40)
    child = tracing.derived(root, "deploy")
    link = tracing.SpanRef(trace_id=7, span_id=9)
    tracing.record("commit eeee", ref=root, parent=None, start=100.0, end=103.5, links=(link,))
    tracing.record(
        "deploy demo-dev", ref=child, parent=root, start=101.0, end=103.0,
        attributes={"conveyor.app": "demo-dev", "n": 3}, error="sync Failed",
    )  # fmt: skip
    app_tracing.shutdown()  # flushes the batch
    spans = {s.name: s for s in receiver.snapshot()}
    commit, deploy = spans["commit eeee"], spans["deploy demo-dev"]
    assert commit.trace_id == deploy.trace_id == f"{root.trace_id:032x}"
    assert commit.span_id == f"{root.span_id:016x}"
    assert commit.parent_id == ""
    assert commit.links == ((f"{7:032x}", f"{9:016x}"),)
    assert deploy.parent_id == commit.span_id
    assert deploy.span_id == f"{child.span_id:016x}"
    assert (commit.start_ns, commit.end_ns) == (100_000_000_000, 103_500_000_000)
    assert deploy.attributes == {"conveyor.app": "demo-dev", "n": 3}
    assert deploy.error and not commit.error
    assert commit.resource["service.name"] == "conveyor-test"
    assert commit.resource["conveyor.component"] == "reconciler"
    assert not tracing.enabled()


def test_log_lines_inside_a_span_carry_its_trace_id() -> None:
    logger = logging.getLogger("conveyor.test.tracelogs")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        app_tracing.add_trace_ids_to_logs(logger)
        app_tracing.add_trace_ids_to_logs(logger)  # once only
        ref = tracing.commit_trace("f" * 40)
        with tracing.inside(ref):
            logger.warning("inside %s", "a span")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines == [f"WARNING inside a span trace_id={ref.trace_id:032x}", "WARNING outside"]


def test_an_endpoint_without_the_sdk_installed_is_refused_with_the_extra_to_install() -> None:
    script = (
        "import sys\n"
        "sys.modules['opentelemetry.sdk'] = None  # as if the tracing extra were missing\n"
        "from conveyor.app import tracing\n"
        "from conveyor.core.errors import UserError\n"
        "try:\n"
        "    tracing.setup('server')\n"
        "except UserError as exc:\n"
        "    print(exc.hint)\n"
    )
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert "pip install 'conveyor[tracing]'" in done.stdout
