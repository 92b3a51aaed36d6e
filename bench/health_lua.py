"""Time per custom health evaluation: one Lua runtime reused vs. a new runtime per object
(issue 14, custom health), against the built-in Python rule for the same kind as the peer.

Run with `.venv/bin/python bench/health_lua.py [--objects 2000]`. Evaluates a
cert-manager-style script (the shape of Argo CD's documented example) on a Certificate
with three conditions, `--objects` times per way:
* built-in: `health.assess` (the Python rule in health/certificate.py), the peer;
* Checker: the production path, one runtime reused behind the watchdog thread;
* reused, no watchdog: the same runtime called directly (what the thread hop costs);
* new runtime: a fresh sandboxed runtime (bootstrap + compile) per evaluation.
Prints microseconds per evaluation and the ratio to the built-in rule.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conveyor.reconcile import health
from conveyor.reconcile.health import Checker, HealthScript
from conveyor.reconcile.health.lua import LuaRuntime

SCRIPT = """
hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Issuing" and condition.status == "True" then
      hs.status = "Progressing"
      hs.message = condition.message
      return hs
    end
  end
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
    if condition.type == "Ready" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
"""
CERT = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "shop-tls", "namespace": "prod", "generation": 2},
    "spec": {
        "secretName": "shop-tls",
        "dnsNames": ["shop.example.com", "www.shop.example.com"],
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
    },
    "status": {
        "conditions": [
            {"type": "Issuing", "status": "False", "reason": "Issued"},
            {"type": "Ready", "status": "True", "message": "Certificate is up to date"},
            {"type": "Valid", "status": "True"},
        ],
        "notAfter": "2027-03-01T00:00:00Z",
    },
}


def per_call(fn: Callable[[], object], count: int) -> float:
    """Microseconds per call of `fn`, after one warm-up call."""
    fn()
    started = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - started) / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    count = parser.parse_args().objects
    checker = Checker([HealthScript(pattern="cert-manager.io/Certificate", source=SCRIPT)])
    runtime = LuaRuntime(clock=time.monotonic)

    def fresh() -> object:
        return LuaRuntime(clock=time.monotonic).evaluate(SCRIPT, "c", CERT, 1.0)

    assert checker.assess(CERT) == health.assess(CERT), "the script and the rule disagree"
    rows = [
        ("built-in Python rule (peer)", per_call(lambda: health.assess(CERT), count)),
        ("Lua, runtime reused (Checker)", per_call(lambda: checker.assess(CERT), count)),
        (
            "Lua, runtime reused, no watchdog",
            per_call(lambda: runtime.evaluate(SCRIPT, "c", CERT, 1.0), count),
        ),
        ("Lua, new runtime per object", per_call(fresh, max(count // 10, 1))),
    ]
    peer = rows[0][1]
    print(f"{'way':<36} {'µs/object':>10} {'× built-in':>11}")
    for name, micros in rows:
        print(f"{name:<36} {micros:>10.1f} {micros / peer:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
