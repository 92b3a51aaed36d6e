"""Suite-wide test configuration.

Tests that drive real Podman objects through shared names (namespaces become Podman networks,
the Service proxy per state directory) run on one xdist worker, one after another, so that
one test's clean-up never removes a network or proxy another test is using; the rest of the
suite still runs in parallel (`make test` uses `--dist loadgroup`).

A failing test that uses a `conveyor up` process (`tests.e2e.demoup`) gets the end of what
that process printed as a section of its report: a stage that waits out its time says why.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from conveyor.app.uplaunch import UpProcess

# Commands the tests start run in-process: no warm servers outlive the suite
# (tests/app/test_warmstart.py turns warm start on for its own, private servers).
os.environ["CONVEYOR_WARM"] = "0"

# `pg_cluster` (one throwaway PostgreSQL server per session), `pg_url` and `database`;
# `trace_sink` (the spans a test records).
pytest_plugins = ("tests.pg", "tests.tracingsink")

_SERIAL_PODMAN_DIRS = ("tests/targets/podman/", "tests/e2e/", "tests/browser/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(_SERIAL_PODMAN_DIRS):
            item.add_marker(pytest.mark.xdist_group("podman-objects"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        for up in (value for value in funcargs.values() if isinstance(value, UpProcess)):
            if up.log.exists():
                report.sections.append((f"conveyor up ({up.log})", up.log.read_text()[-8000:]))
    return report
