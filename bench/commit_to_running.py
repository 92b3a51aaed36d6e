"""Commit to running: push a commit to demo/app and time until dev serves the new version.

Run with `.venv/bin/python bench/commit_to_running.py [--pushes 10] [--state-dir DIR]`.
Without `--state-dir` it starts its own `conveyor up` in a scratch directory (and removes
it afterwards); with one, it uses that running platform. Each push changes `site/version`;
the clock starts when `git push` starts and stops when `GET <dev>/version` (polled every
20 ms) returns the new version. Then the run is cancelled (it would go on to staging and
wait for prod's approval) and the next push starts from an idle platform. Prints p50/p95
of the total and of each part:

- queue: `git push` started → the run started on a runner (the push itself, the server's
  push hook → event → run → local pool);
- CI: the run's own work except the build and promote steps (checkout, test, login, job
  set-up, the reusable-workflow call, the dev environment gate);
- build+push: the `docker/build-push-action` step (`podman build` + `podman push`; the
  user's build commands; as a reference the same build and push outside Conveyor are
  timed once per iteration of --reference);
- promote: the `conveyor promote --env dev` step (a CLI process: clone/fetch, edit, push);
- reconcile: promotion recorded (the deployment/dev status) → the reconciler's sync of
  that revision started (post-receive → refresh → fetch → render → diff);
- rollout: sync started → dev serves the version (start containers, readiness, switch).

Conveyor's own overhead is the total minus the build+push step. Always exits 0.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.app import platform
from conveyor.app.api import wait_for
from conveyor.app.tour import Tour
from conveyor.app.uplaunch import UpProcess, demo_ports_busy, remove_workloads
from conveyor.store import Store

ROOT = Path(__file__).resolve().parents[1]
_STEP = re.compile(r"^(?:✅ Success|❌ Failure) - (?P<name>.+) \[(?P<n>[\d.]+)(?P<unit>ms|s)\]$")
PARTS = ("queue", "CI", "build+push", "promote", "reconcile", "rollout")


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    total: float
    parts: dict[str, float]

    @property
    def overhead(self) -> float:
        return self.total - self.parts["build+push"]


def step_seconds(log: str) -> dict[str, float]:
    """Step durations (seconds) by step name from a run's log (`job<TAB>line`)."""
    steps: dict[str, float] = {}
    for row in log.splitlines():
        if match := _STEP.match(row.partition("\t")[2].rstrip()):
            scale = 1000 if match["unit"] == "ms" else 1
            steps[match["name"]] = float(match["n"]) / scale
    return steps


def sync_started(store_path: str, app: str, revision_after: float) -> float | None:
    store = Store.open(store_path)
    try:
        ops = [op for op in store.operations(app) if op.started >= revision_after]
    finally:
        store.close()
    return min((op.started for op in ops), default=None)


def one_push(tour: Tour) -> Sample:
    pushed = tour.commit()
    t0 = pushed.push_started
    served = wait_for(
        "dev to serve the push",
        lambda: time.time() if tour.served("dev") == pushed.version else None,
        timeout=180,
        every=0.02,
    )
    run = tour.find_run(pushed.sha)
    assert run is not None
    run_id = int(run["id"])
    statuses = tour.api.statuses("demo/app", pushed.sha)
    promoted = next(s["updated"] for s in statuses if s["context"] == "deployment/dev")
    tour.api.request("POST", f"/runs/{run_id}/cancel")

    def completed() -> dict[str, Any] | None:
        view = tour.api.run(run_id)
        return view if view.get("status") == "completed" else None

    run = wait_for("the cancelled run to complete", completed, timeout=60)
    steps = step_seconds(tour.api.logs(run_id))
    build = steps.get("Build and push image", 0.0)
    promote = steps.get("Promote to dev", 0.0)
    started = float(run["started"])
    synced = sync_started(tour.info.state_db, "demo-dev", promoted - 0.5) or promoted
    parts = {
        "queue": started - t0,
        "CI": max(0.0, promoted - started - build - promote),
        "build+push": build,
        "promote": promote,
        "reconcile": max(0.0, synced - promoted),
        "rollout": served - max(synced, promoted),
    }
    return Sample(total=served - t0, parts=parts)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(samples: list[Sample]) -> str:
    rows = [f"{'part':<12} {'p50 s':>7} {'p95 s':>7}"]
    for part in PARTS:
        values = [s.parts[part] for s in samples]
        rows.append(f"{part:<12} {pct(values, 0.5):>7.2f} {pct(values, 0.95):>7.2f}")
    totals = [s.total for s in samples]
    overhead = [s.overhead for s in samples]
    rows.append(f"{'total':<12} {pct(totals, 0.5):>7.2f} {pct(totals, 0.95):>7.2f}")
    rows.append(f"{'overhead':<12} {pct(overhead, 0.5):>7.2f} {pct(overhead, 0.95):>7.2f}")
    rows.append(
        f"n={len(samples)}; targets: total p50 <= 15 s "
        f"({'met' if statistics.median(totals) <= 15 else 'MISSED'}), "
        f"overhead p50 <= 2 s ({'met' if statistics.median(overhead) <= 2 else 'MISSED'})"
    )
    return "\n".join(rows)


def measure(info: platform.PlatformInfo, pushes: int) -> list[Sample]:
    tour = Tour(info, timeout=180)
    samples = []
    try:
        tour.wait_served("dev", tour.served("dev") or "1.0.0")
        for run in tour.api.runs(repo=info.app_repo):  # start from an idle platform
            if run.get("status") != "completed":
                tour.api.request("POST", f"/runs/{run['id']}/cancel")
        for i in range(pushes):
            sample = one_push(tour)
            samples.append(sample)
            parts = " ".join(f"{k}={v:.2f}" for k, v in sample.parts.items())
            print(f"push {i + 1}: {sample.total:.2f}s ({parts})", flush=True)
    finally:
        tour.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.state_dir is not None:
        print(report(measure(platform.load(args.state_dir), args.pushes)))
        return
    if busy := demo_ports_busy():
        print(f"ports {busy} are in use: stop your own `conveyor up` (or pass --state-dir)")
        return
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-bench-up-"))
    up = UpProcess(scratch / "up", ROOT / "examples")
    try:
        started = time.monotonic()
        info = up.start()
        print(f"conveyor up ready in {time.monotonic() - started:.1f}s", flush=True)
        samples = measure(info, args.pushes)
    finally:
        up.stop()
        remove_workloads(up.state)
        shutil.rmtree(scratch, ignore_errors=True)
    print(report(samples))


if __name__ == "__main__":
    main()
