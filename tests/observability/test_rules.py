"""The Prometheus alert rules and the Grafana dashboard in `deploy/observability`: valid for
Prometheus's own `promtool` (Debian's `prometheus` package), each alert fires as its unit
tests say, and every metric they use is one Conveyor's server and reconciler export (read
from a real server's `/metrics` over HTTP, and from the reconciler's registry after it
observed work)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conveyor.reconcile.metrics import Metrics
from conveyor.reconcile.model import HealthStatus, SyncStatus
from tests.server.conftest import Server, make_server

from .promql import (
    DASHBOARD,
    PROMETHEUS_OWN,
    RULE_TESTS,
    RULES,
    as_prometheus,
    dashboard,
    dashboard_exprs,
    exposition_families,
    family,
    metric_names,
    rule_exprs,
)


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: scripts/install-system.sh installs `prometheus`")
        pytest.skip("promtool is missing (apt-get install prometheus)")
    return found


def run(promtool: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("metrics"))
    srv.start()
    yield srv
    srv.stop()


def reconciler_exposition() -> str:
    """What a reconciler's /metrics serves after syncing, drifting and failing to fetch."""
    metrics = Metrics()
    metrics.observe_reconcile("web", 0.2)
    metrics.count_sync("web", "Failed")
    metrics.count_drift("web")
    metrics.count_fetch_error("https://git.example/config.git")
    metrics.set_app("web", HealthStatus.DEGRADED, SyncStatus.OUT_OF_SYNC)
    return metrics.render()


@pytest.fixture(scope="module")
def exported(server: Server) -> dict[str, str]:
    text = server.api("GET", "/metrics").text
    return {**exposition_families(text), **exposition_families(reconciler_exposition())}


def test_the_alert_rules_pass_promtool_check(promtool: str) -> None:
    done = run(promtool, "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in done.stdout


def test_each_alert_fires_and_stays_quiet_as_its_unit_tests_say(promtool: str) -> None:
    done = run(promtool, "test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert tested == set(rule_exprs())  # every alert is shown firing at least once


def test_every_metric_the_rules_and_the_dashboard_use_is_exported(
    exported: dict[str, str],
) -> None:
    used = {**rule_exprs(), **dashboard_exprs()}
    missing = {
        where: sorted(n for n in metric_names(expr) if family(n, set(exported)) is None)
        for where, expr in used.items()
    }
    missing = {where: names for where, names in missing.items() if set(names) - PROMETHEUS_OWN}
    assert not missing, f"not exported by Conveyor: {missing}"
    histograms = {n for e in used.values() for n in metric_names(e) if n.endswith("_bucket")}
    assert histograms
    assert all(exported[n.removesuffix("_bucket")] == "histogram" for n in histograms)


def test_rate_and_increase_are_only_taken_of_counters_and_histograms(
    exported: dict[str, str],
) -> None:
    for where, expr in {**rule_exprs(), **dashboard_exprs()}.items():
        if "rate(" in expr or "increase(" in expr:
            for name in metric_names(expr):
                kind = exported[family(name, set(exported)) or name]
                assert kind in ("counter", "histogram"), (where, name, kind)


def test_both_expositions_pass_promtool_check_metrics(promtool: str, server: Server) -> None:
    for text in (server.api("GET", "/metrics").text, reconciler_exposition()):
        done = run(promtool, "check", "metrics", stdin=text)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    rules = [
        {"record": f"conveyor:dashboard_query_{i}", "expr": as_prometheus(expr)}
        for i, expr in enumerate(dashboard_exprs().values())
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = run(promtool, "check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_layout_fits_a_24_column_grid_without_overlaps() -> None:
    board = dashboard()
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        xs, ys = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        mine = {(x, y) for x in xs for y in ys}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
    defined = {v["name"] for v in board["templating"]["list"]}
    text = DASHBOARD.read_text()
    used = {name for name in ("datasource", "app") if f"${{{name}}}" in text or f"${name}" in text}
    assert used <= defined


def test_the_name_extraction_sees_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket{app=~"$app"}[5m])))'
        ' / on (app) group_left b_total unless c offset 5m > bool 3 and up{job="x:y"}'
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c", "up"}
    assert family("a_seconds_bucket", {"a_seconds"}) == "a_seconds"
    assert family("made_up_total", {"a_seconds"}) is None
