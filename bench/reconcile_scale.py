"""Reconciler at scale against the in-memory target (issue 6 acceptance).

1,000 applications × 10 objects each, all in one real Git config repo (a monorepo: the
case Argo CD documents as its hardest), reconciled by `conveyor.reconcile.Reconciler`
with an SQLite state file. Prints:

* the cold first pass (fetch, render 10,000 objects, apply them);
* a full no-op pass (fetch, compare every live object against Git) — target ≤ 2 s;
* a full pass after one commit that touches one app;
* the time from a refresh trigger (the post-receive hook / webhook path) to that app
  reconciled at the new commit, with the control loop running — target ≤ 200 ms;
* peak memory (max RSS).

Run: `.venv/bin/python bench/reconcile_scale.py [--apps 1000] [--objects 10]`.
No peer tool can run here (Argo CD and Flux need a Kubernetes API server), so each figure
is printed against its target instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from conveyor.reconcile.appmodel import Application, Source, SourceKind, SyncPolicy
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.store import Store
from conveyor.targets.memory import MemoryTarget

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@x",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout.strip()


def objects(app: str, count: int, image: str = "web:1") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": app}},
                "template": {
                    "metadata": {"labels": {"app": app}},
                    "spec": {
                        "containers": [
                            {"name": "main", "image": image, "ports": [{"containerPort": 8080}]}
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app},
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    ]
    for index in range(count - len(out)):
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{app}-cfg-{index}"},
                "data": {"key": f"value-{index}", "app": app},
            }
        )
    return out


def write_app(work: Path, app: str, count: int, image: str = "web:1") -> None:
    folder = work / "apps" / app
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifests.yaml").write_text(yaml.safe_dump_all(objects(app, count, image)))


def commit(work: Path, message: str) -> str:
    git(work, "add", "-A")
    git(work, "commit", "-qm", message)
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def applications(url: str, names: list[str]) -> list[Application]:
    policy = SyncPolicy(automated=True, prune=True, self_heal=True)
    return [
        Application(
            name=name,
            sources=(
                Source(
                    repo_url=url,
                    path=f"apps/{name}",
                    target_revision="main",
                    kind=SourceKind.DIRECTORY,
                ),
            ),
            target="memory",
            namespace="bench",
            sync_policy=policy,
        )
        for name in names
    ]


async def timed_pass(reconciler: Reconciler) -> float:
    started = time.perf_counter()
    await reconciler.reconcile_all()
    return time.perf_counter() - started


async def trigger_latency(
    reconciler: Reconciler, work: Path, app: str, count: int, image: str
) -> float:
    """Commit a change to `app`, trigger a refresh, wait until it is applied."""
    stop = asyncio.Event()
    control = Loop(reconciler)
    loop_task = asyncio.create_task(control.run(interval=3600, stop=stop))
    await asyncio.sleep(0)
    while not reconciler.runtime(app).applied_revision:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # the loop's first pass is over; it now waits for triggers
    write_app(work, app, count, image)
    sha = commit(work, f"bump {app}")
    started = time.perf_counter()
    control.trigger(app)  # what the post-receive hook / webhook / refresh API does
    while reconciler.runtime(app).applied_revision != sha:
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    stop.set()
    await loop_task
    return elapsed


async def main(n_apps: int, n_objects: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        root = Path(tmp)
        origin = root / "origin.git"
        git(root, "init", "-q", "--bare", "-b", "main", str(origin))
        work = root / "work"
        git(root, "clone", "-q", str(origin), str(work))
        git(work, "checkout", "-qb", "main")
        names = [f"app-{i:04d}" for i in range(n_apps)]
        for name in names:
            write_app(work, name, n_objects)
        commit(work, "seed")

        store = Store.open(root / "state.db")
        target = MemoryTarget(target_name="memory")
        env = Env(targets={"memory": target}, store=store, sources=Sources(root / "cache"))
        reconciler = Reconciler(applications(str(origin), names), env, concurrency=64)

        cold = await timed_pass(reconciler)
        assert len(target.refs()) == n_apps * n_objects
        noop = [await timed_pass(reconciler) for _ in range(repeats)]
        applies = target.applies
        one = names[n_apps // 2]
        write_app(work, one, n_objects, "web:2")
        commit(work, f"bump {one}")
        after_commit = await timed_pass(reconciler)
        changed = target.applies - applies
        latencies = []
        for attempt in range(repeats):
            other = names[(n_apps // 3 + attempt) % n_apps]
            latencies.append(
                await trigger_latency(reconciler, work, other, n_objects, f"web:{attempt + 3}")
            )
        store.close()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    noop_med = statistics.median(noop)
    latency_med = statistics.median(latencies)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"reconcile scale: {n_apps} apps x {n_objects} objects "
        f"({n_apps * n_objects} objects), memory target, {os.cpu_count()} CPUs, "
        f"load average {load}"
    )
    print(f"{'measure':<44} {'value':>10} {'target':>10} {'ratio':>7}")
    rows = [
        ("cold first pass (render + apply all)", cold, None),
        (f"no-op full pass (median of {repeats})", noop_med, 2.0),
        ("full pass after 1 commit touching 1 app", after_commit, 2.0),
        (f"refresh trigger -> app reconciled (median {repeats})", latency_med, 0.2),
    ]
    for label, value, goal in rows:
        ratio = f"{value / goal:.2f}" if goal else ""
        goal_text = f"{goal:.3f} s" if goal else ""
        print(f"{label:<44} {value:>8.3f} s {goal_text:>10} {ratio:>7}")
    print(f"{'objects applied by the 1-commit pass':<44} {changed:>10}")
    print(f"{'peak memory (max RSS)':<44} {peak_mb:>7.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.apps, args.objects, args.repeats))
