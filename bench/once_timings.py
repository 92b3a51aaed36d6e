"""`conveyor reconcile --once` on the Podman target: how long a user waits (issue 11).

Run with `.venv/bin/python bench/once_timings.py [--repeat N]` (root, podman installed;
`make install` sets it up). Each round makes a scratch config repo holding a 2-replica
busybox httpd Deployment (readiness probe every 1 s) and a NodePort Service, then times
the CLI, as a user runs it, from start to exit:

- first deploy: nothing runs yet; the command exits once both replicas are ready;
- image update: v1 -> v2, rolled one replica at a time, old ones drained;
- no-op: nothing changed in Git (adopts what runs, finds it in sync and Healthy).

Peers measured in the same run: `conveyor --help` (the CLI's start-up floor) and two
`podman run -d` until both answer HTTP (the containers' own floor). Prints medians and
ratios; the target, its containers and its proxy are removed at the end. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from conveyor.clients.podman import Podman
from conveyor.targets.podman.names import TARGET_LABEL
from conveyor.targets.podman.routing import ProxyHandle

sys.path.insert(0, str(Path(__file__).parent))
from podman_rollout import IMAGE, build_images, free_port, http_get

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
CLI_ENV = {**os.environ, "CONVEYOR_WARM": "0"}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=GIT_ENV)


def manifests(version: str, port: int) -> list[dict[str, Any]]:
    container = {
        "name": "web",
        "image": f"{IMAGE}:{version}",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
    }
    labels = {"app": "web"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {
                "type": "NodePort",
                "selector": labels,
                "ports": [{"port": 80, "targetPort": "http", "nodePort": port}],
            },
        },
    ]


class Round:
    """One scratch config repo, apps file and target (`bench-once-<id>`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.target = f"bench-once-{uuid.uuid4().hex[:6]}"
        self.port = free_port()
        self.origin, self.work = root / "origin.git", root / "work"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.origin))
        git(root, "clone", "-q", str(self.origin), str(self.work))
        git(self.work, "checkout", "-qb", "main")
        config = {
            "targets": [{"name": self.target, "type": "podman", "stateDir": str(root / "t")}],
            "state": str(root / "state.db"),
            "cache": str(root / "cache"),
        }
        (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
        app = {
            "apiVersion": "conveyor.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {
                "source": {"repoURL": str(self.origin), "path": "app", "targetRevision": "main"},
                "destination": {"name": self.target, "namespace": "bench"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
        }
        (root / "apps.yaml").write_text(yaml.safe_dump(app))

    def publish(self, version: str) -> None:
        (self.work / "app").mkdir(exist_ok=True)
        (self.work / "app" / "web.yaml").write_text(
            yaml.safe_dump_all(manifests(version, self.port))
        )
        git(self.work, "add", "-A")
        git(self.work, "commit", "-qm", version)
        git(self.work, "push", "-q", "origin", "HEAD:main")

    def once(self) -> float:
        argv = [sys.executable, "-m", "conveyor.app", "reconcile", "--apps",
                str(self.root / "apps.yaml"), "--config", str(self.root / "conveyor.yaml"),
                "--once"]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(argv, env=CLI_ENV, capture_output=True, text=True, check=False)
        took = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"--once failed:\n{done.stdout}{done.stderr}")
        return took

    def serves(self, version: str) -> None:
        body = asyncio.run(http_get("127.0.0.1", self.port))
        if body != version:
            raise SystemExit(f"after --once the Service served {body!r}, not {version!r}")

    def clean(self, podman: Podman) -> None:
        ProxyHandle(self.root / "t" / "proxy").stop()
        flt = f"label={TARGET_LABEL}={self.target}"
        ids = asyncio.run(podman.run("ps", "-aq", "--filter", flt, check=False)).stdout.split()
        if ids:
            asyncio.run(podman.run("rm", "-f", "-t", "0", *ids, check=False))
        for net in asyncio.run(podman.run("network", "ls", "-q", "--filter", flt)).stdout.split():
            asyncio.run(podman.run("network", "rm", net, check=False))


def cli_floor() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "conveyor.app", "--help"], env=CLI_ENV,
                   capture_output=True, check=True)  # fmt: skip
    return time.monotonic() - started


async def podman_floor(podman: Podman) -> float:
    """Two `podman run -d` of the v1 image until both answer HTTP."""
    tag = f"bench-once-peer-{uuid.uuid4().hex[:6]}"
    ports = [free_port(), free_port()]
    started = time.monotonic()
    try:
        await asyncio.gather(*(
            podman.run("run", "-d", "--label", f"{TARGET_LABEL}={tag}",
                       "-p", f"127.0.0.1:{port}:8080", f"{IMAGE}:v1")
            for port in ports
        ))  # fmt: skip
        for port in ports:
            while True:
                try:
                    if await http_get("127.0.0.1", port) == "v1":
                        break
                except (OSError, TimeoutError, ValueError):
                    pass
                await asyncio.sleep(0.01)
        return time.monotonic() - started
    finally:
        flt = f"label={TARGET_LABEL}={tag}"
        ids = (await podman.run("ps", "-aq", "--filter", flt, check=False)).stdout.split()
        if ids:
            await podman.run("rm", "-f", "-t", "0", *ids, check=False)


def main(repeat: int) -> None:
    podman = Podman()
    asyncio.run(build_images(podman))
    rows: dict[str, list[float]] = {k: [] for k in ("first deploy", "image update", "no-op")}
    peers: dict[str, list[float]] = {"conveyor --help": [], "2x podman run -d": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-once-") as tmp:
            bench = Round(Path(tmp))
            try:
                bench.publish("v1")
                rows["first deploy"].append(bench.once())
                bench.serves("v1")
                bench.publish("v2")
                rows["image update"].append(bench.once())
                bench.serves("v2")
                rows["no-op"].append(bench.once())
                bench.serves("v2")
            finally:
                bench.clean(podman)
        peers["conveyor --help"].append(cli_floor())
        peers["2x podman run -d"].append(asyncio.run(podman_floor(podman)))
    floor = {k: statistics.median(v) for k, v in peers.items()}
    print(f"`conveyor reconcile --once`, 2-replica Deployment + NodePort, median of {repeat}")
    print(f"{'step':<16} | {'seconds':>7} | {'/ CLI start':>11} | {'/ 2x podman run':>15}")
    for step, values in rows.items():
        median = statistics.median(values)
        print(
            f"{step:<16} | {median:7.2f} | {median / floor['conveyor --help']:10.1f}x | "
            f"{median / floor['2x podman run -d']:14.1f}x"
        )
    for peer, value in floor.items():
        print(f"peer: {peer:<19} {value:5.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    main(parser.parse_args().repeat)
