"""Rolling an image change on the Podman target against plain `podman kube play --replace`.

Run with `.venv/bin/python bench/podman_rollout.py [--repeat N]` (root, podman installed;
`make install` sets it up). For 1 and 3 replicas of a busybox httpd Deployment it measures,
in the same run: the time from "desired image changed" to "all replicas run the new image
and answer HTTP", and the requests that failed meanwhile while a client polled every 20 ms
(through the Service's port for Conveyor; straight at the pod addresses for kube play, which
ignores Services and publishes every containerPort on the host, so replicas > 1 cannot share
a port: the kube play manifest is the same Deployment without `ports` and `readinessProbe`).
It also reports container start latency: a fresh 1-replica Deployment until ready, a fresh
kube play until HTTP answers, and bare `podman run -d` until HTTP answers. Prints medians and
ratios; always exits 0 (a measurement). Issue 7's target: Conveyor drops no request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image
from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import PodmanTarget
from conveyor.targets.podman.routing import ProxyHandle

IMAGE = "localhost/conveyor-bench/web"
LABEL = "conveyor.dev/target"
REQUEST_TIMEOUT = 2.0  # a request slower than this counts as failed (as in the tests)
REF = ObjectRef(group="apps", kind="Deployment", namespace="bench", name="web")


async def build_images(podman: Podman) -> None:
    base = await ensure_busybox_image(podman)
    for version in ("v1", "v2"):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "Containerfile").write_text(
                f"FROM {base}\nRUN mkdir -p /www && echo {version} > /www/index.html\n"
                'STOPSIGNAL SIGKILL\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n'
            )
            await podman.run("build", "-q", "-t", f"{IMAGE}:{version}", tmp)


def manifest(version: str, replicas: int, tag: str, *, for_kube_play: bool = False) -> Any:
    container: dict[str, Any] = {"name": "web", "image": f"{IMAGE}:{version}"}
    if not for_kube_play:
        container["ports"] = [{"name": "http", "containerPort": 8080}]
        container["readinessProbe"] = {
            "httpGet": {"path": "/", "port": "http"},
            "periodSeconds": 1,
            "failureThreshold": 3,
        }
    labels = {"app": "web", LABEL: tag}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "bench", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


async def http_get(host: str, port: int) -> str:
    async def once() -> str:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            raw = await reader.read()
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n")[0]:
            raise ValueError("not 200")
        return body.decode().strip()

    return await asyncio.wait_for(once(), REQUEST_TIMEOUT)


@dataclass
class Poller:
    """One GET every 20 ms against whatever `where()` names; counts failures."""

    where: Callable[[], Awaitable[tuple[str, int] | None]]
    ok: int = 0
    failed: int = 0
    stop: bool = False
    seen: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def run(self) -> None:
        address = await self.where()
        while not self.stop:
            try:
                if address is None:
                    raise OSError("no address")
                self.seen.append(await http_get(*address))
                self.ok += 1
            except (OSError, TimeoutError, ValueError) as exc:
                self.failed += 1
                self.errors.append(repr(exc))
                address = await self.where()
            await asyncio.sleep(0.02)


async def conveyor_ready(target: PodmanTarget, version: str, replicas: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        live = await target.get(REF)
        assert live is not None
        st = live["status"]
        if st["updatedReplicas"] == st["readyReplicas"] == st["replicas"] == replicas:
            image = live["spec"]["template"]["spec"]["containers"][0]["image"]
            if image.endswith(version):
                return
        await asyncio.sleep(0.01)
    live = await target.get(REF)
    raise RuntimeError(f"rollout to {version} did not finish: {live and live.get('status')}")


async def conveyor_round(podman: Podman, replicas: int, port: int) -> tuple[float, int, int]:
    tag = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as state:
        target = PodmanTarget(name=tag, state_dir=Path(state), podman=podman, tick=0.1)
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "bench"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": port}],
            },
        }
        try:
            await target.apply(service)
            await target.apply(manifest("v1", replicas, tag))
            await conveyor_ready(target, "v1", replicas)
            while True:  # ready replicas join the Service on the controller's next tick
                try:
                    if await http_get("127.0.0.1", port) == "v1":
                        break
                except (OSError, TimeoutError, ValueError):
                    await asyncio.sleep(0.01)

            async def where() -> tuple[str, int]:
                return ("127.0.0.1", port)

            poller = Poller(where)
            task = asyncio.create_task(poller.run())
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await target.apply(manifest("v2", replicas, tag))
            await conveyor_ready(target, "v2", replicas)
            took = time.monotonic() - started
            await asyncio.sleep(0.2)
            poller.stop = True
            await task
            if poller.errors:
                print("  conveyor failures:", poller.errors[:5], file=sys.stderr)
            return took, poller.failed, poller.ok
        finally:
            await target.aclose()
            ProxyHandle(Path(state) / "proxy").stop()
            await cleanup(podman, tag)


async def pod_addresses(podman: Podman, tag: str) -> list[tuple[str, str]]:
    """(image, ip) of running kube-play containers labelled `tag`."""
    rows = await podman.json("ps", "--filter", f"label={LABEL}={tag}", "--format", "json") or []
    ids = [r["Id"] for r in rows if not r.get("IsInfra") and r.get("State") == "running"]
    if not ids:
        return []
    out = []
    for data in await podman.json("inspect", *ids) or []:
        nets = data.get("NetworkSettings", {}).get("Networks") or {}
        ip = next((n.get("IPAddress") for n in nets.values() if n.get("IPAddress")), "")
        out.append((str(data.get("ImageName", "")), str(ip)))
    return out


async def kube_ready(podman: Podman, tag: str, version: str, replicas: int) -> None:
    while True:
        found = [
            (image, ip)
            for image, ip in await pod_addresses(podman, tag)
            if image.endswith(version) and ip
        ]
        if len(found) == replicas:
            answers = await asyncio.gather(
                *(http_get(ip, 8080) for _i, ip in found), return_exceptions=True
            )
            if all(a == version for a in answers):
                return
        await asyncio.sleep(0.01)


async def kube_play(podman: Podman, version: str, replicas: int, tag: str, path: Path) -> None:
    path.write_text(json.dumps(manifest(version, replicas, tag, for_kube_play=True)))
    await podman.run("kube", "play", "--replace", str(path))


async def kube_round(podman: Podman, replicas: int) -> tuple[float, int, int]:
    tag = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "web.json"
        try:
            await kube_play(podman, "v1", replicas, tag, path)
            await kube_ready(podman, tag, "v1", replicas)

            async def where() -> tuple[str, int] | None:
                found = [ip for _image, ip in await pod_addresses(podman, tag) if ip]
                return (found[0], 8080) if found else None

            poller = Poller(where)
            task = asyncio.create_task(poller.run())
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await kube_play(podman, "v2", replicas, tag, path)
            await kube_ready(podman, tag, "v2", replicas)
            took = time.monotonic() - started
            await asyncio.sleep(0.2)
            poller.stop = True
            await task
            return took, poller.failed, poller.ok
        finally:
            await cleanup(podman, tag)


async def cleanup(podman: Podman, tag: str) -> None:
    flt = f"label={LABEL}={tag}"
    pods = (await podman.run("pod", "ps", "-q", "--filter", flt, check=False)).stdout.split()
    if pods:
        await podman.run("pod", "rm", "-f", "-t", "0", *pods, check=False)
    ids = (await podman.run("ps", "-aq", "--filter", flt, check=False)).stdout.split()
    if ids:
        await podman.run("rm", "-f", "-t", "0", *ids, check=False)
    for name in (
        await podman.run("network", "ls", "-q", "--filter", flt, check=False)
    ).stdout.split():
        await podman.run("network", "rm", name, check=False)


async def start_latency(podman: Podman, port: int) -> dict[str, float]:
    out: dict[str, float] = {}
    tag = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as state:
        target = PodmanTarget(name=tag, state_dir=Path(state), podman=podman, tick=0.1)
        try:
            await target.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}
            )
            started = time.monotonic()
            await target.apply(manifest("v1", 1, tag))
            await conveyor_ready(target, "v1", 1)
            out["conveyor"] = time.monotonic() - started
        finally:
            await target.aclose()
            ProxyHandle(Path(state) / "proxy").stop()
            await cleanup(podman, tag)
    tag = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            started = time.monotonic()
            await kube_play(podman, "v1", 1, tag, Path(tmp) / "web.json")
            await kube_ready(podman, tag, "v1", 1)
            out["kube play"] = time.monotonic() - started
        finally:
            await cleanup(podman, tag)
    tag = f"bench-{uuid.uuid4().hex[:6]}"
    try:
        started = time.monotonic()
        await podman.run(
            "run", "-d", "--label", f"{LABEL}={tag}", "-p", f"127.0.0.1:{port}:8080", f"{IMAGE}:v1"
        )
        while True:
            try:
                await http_get("127.0.0.1", port)
                break
            except (OSError, TimeoutError, ValueError):
                await asyncio.sleep(0.005)
        out["podman run"] = time.monotonic() - started
    finally:
        await cleanup(podman, tag)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(repeat: int) -> None:
    podman = Podman()
    await build_images(podman)
    print(f"podman rollout bench: median of {repeat} round(s); requests every 20 ms")
    print(
        f"{'replicas':>8} | {'conveyor s':>10} | {'kube play s':>11} | {'ratio':>5} | "
        f"{'conveyor failed/ok':>18} | {'kube play failed/ok':>19}"
    )
    all_ours: list[list[tuple[float, int, int]]] = []
    for replicas in (1, 3):
        ours: list[tuple[float, int, int]] = []
        theirs: list[tuple[float, int, int]] = []
        all_ours.append(ours)
        for _ in range(repeat):
            ours.append(await conveyor_round(podman, replicas, free_port()))
            theirs.append(await kube_round(podman, replicas))
        c = statistics.median(r[0] for r in ours)
        k = statistics.median(r[0] for r in theirs)
        cf, co = sum(r[1] for r in ours), sum(r[2] for r in ours)
        kf, ko = sum(r[1] for r in theirs), sum(r[2] for r in theirs)
        print(
            f"{replicas:>8} | {c:>10.2f} | {k:>11.2f} | {c / k:>5.2f} | {cf:>8}/{co:<9} | "
            f"{kf:>9}/{ko:<9}"
        )
    starts = [await start_latency(podman, free_port()) for _ in range(repeat)]
    print("container start latency (fresh 1-replica app until it answers, median):")
    for key in ("conveyor", "kube play", "podman run"):
        print(f"  {key:>10}: {statistics.median(s[key] for s in starts):.3f} s")
    failed = sum(r[1] for rounds in all_ours for r in rounds)
    print("target: conveyor drops no request:", "met" if failed == 0 else "MISSED")


if __name__ == "__main__":
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where it waits
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
    sys.exit(0)
