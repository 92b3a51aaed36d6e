"""What the shipped alert rules and Grafana dashboard ask Prometheus for: their PromQL
expressions and the metric names in them. Used by `test_rules.py`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

OBSERVABILITY = Path(__file__).parents[2] / "deploy" / "observability"
RULES = OBSERVABILITY / "conveyor-alerts.yaml"
RULE_TESTS = OBSERVABILITY / "conveyor-alerts.test.yaml"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"

#: Series Prometheus makes itself, not Conveyor.
PROMETHEUS_OWN = frozenset({"up"})
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset", "inf", "nan"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w:$.])([a-zA-Z_:][\w:]*)\b(?!\s*\()")
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects (functions, keywords, labels and numbers left out)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, $__rate_interval included
    text = _GROUPING.sub(" ", text)
    return {n for n in _NAME.findall(text) if n.lower() not in _KEYWORDS}


def family(name: str, exported: set[str]) -> str | None:
    """The exported family `name` belongs to (a histogram's parts belong to it), or None."""
    if name in exported:
        return name
    for suffix in _HISTOGRAM_PARTS:
        if name.endswith(suffix) and name.removesuffix(suffix) in exported:
            return name.removesuffix(suffix)
    return None


def exposition_families(text: str) -> dict[str, str]:
    """Family name → type, from the `# TYPE` lines of a Prometheus text exposition."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE))


def rule_exprs() -> dict[str, str]:
    """Alert name → expression, from the shipped rule file."""
    doc = yaml.safe_load(RULES.read_text())
    return {r["alert"]: r["expr"] for group in doc["groups"] for r in group["rules"]}


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_exprs() -> dict[str, str]:
    """ "<panel title> <refId>" → expression, for every query of every panel."""
    out = {}
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            out[f"{panel['title']} {target['refId']}"] = target["expr"]
    return out


def as_prometheus(expr: str) -> str:
    """A dashboard query with Grafana's variables replaced as Grafana would send it."""
    return expr.replace("$__rate_interval", "5m").replace('=~"$app"', '=~".*"')
