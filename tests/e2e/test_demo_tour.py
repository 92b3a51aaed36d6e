"""The whole loop, end to end, on real components: `conveyor up` (real git over HTTP, the
real docker-registry, the real server and CI, the real reconciler on real Podman) and the
demo tour, asserting each state change through the REST API and over HTTP: the CI run of
the push, the image in the registry, the version each environment serves after each
stage, the approval gate (prod unchanged until approved; a read-only token cannot approve),
commit statuses per environment, self-healing, `conveyor app rollback --revert`, a clean
stop and an idempotent restart (nothing re-seeded, everything still served).

Uses the demo's fixed NodePorts 30081-30083 (a `conveyor up` of your own must not run).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor.app import overview, platform
from conveyor.app.api import Api, ApiError, wait_for
from conveyor.app.tour import Tour

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Up:
    """`conveyor up` as a child process of the test."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.ports = {"port": free_port(), "registry": free_port(), "reconciler": free_port()}
        self.proc: subprocess.Popen[str] | None = None
        self.log = state.parent / "up.out"

    def start(self) -> platform.PlatformInfo:
        (self.state / platform.FILE_NAME).unlink(missing_ok=True)
        argv = [
            sys.executable, "-m", "conveyor.app", "up", "--state-dir", str(self.state),
            "--examples", str(ROOT / "examples"), "--port", str(self.ports["port"]),
            "--registry-port", str(self.ports["registry"]),
            "--reconciler-port", str(self.ports["reconciler"]),
        ]  # fmt: skip
        out = self.log.open("a")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True)
        out.close()

        def ready() -> platform.PlatformInfo | None:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"conveyor up exited:\n{self.log.read_text()[-4000:]}")
            return platform.load(self.state) if (self.state / "platform.json").exists() else None

        return wait_for("conveyor up to be ready", ready, timeout=240, every=0.5)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def remove_workloads(state: Path) -> None:
    """The demo's containers, networks and the detached Service proxy outlive `up` (like a
    cluster outlives its control plane); the test removes them."""
    from conveyor.clients.podman_host import write_config

    env = {**os.environ, **write_config(state / "podman")}
    for pid_file in state.glob("podman-target/**/proxy/pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
    for ns in ("demo-dev", "demo-staging", "demo-prod"):
        ids = subprocess.run(
            ["podman", "ps", "-aq", "--filter", f"label=conveyor.dev/namespace={ns}",
             "--filter", "label=conveyor.dev/target=local"],
            env=env, capture_output=True, text=True, check=False,
        ).stdout.split()  # fmt: skip
        if ids:
            subprocess.run(
                ["podman", "rm", "-f", "-t", "0", *ids], env=env, capture_output=True, check=False
            )
        subprocess.run(
            ["podman", "network", "rm", f"conveyor-{ns}"], env=env, capture_output=True, check=False
        )


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    busy = [p for p in platform.DEMO_ENVIRONMENTS.values() if port_open(p)]
    if busy:
        pytest.fail(f"ports {busy} are in use: stop your own `conveyor up` first")
    runner = Up(tmp_path / "up")
    try:
        yield runner
    finally:
        if runner.proc is not None and runner.proc.poll() is None:
            runner.stop()
        remove_workloads(runner.state)


def test_commit_to_prod_and_back(up: Up) -> None:
    started = time.monotonic()
    info = up.start()
    startup = time.monotonic() - started
    assert "Conveyor is up." in up.log.read_text()
    assert "seeded: demo/config@" in up.log.read_text()
    tour = Tour(info, timeout=120)
    api = Api(info.server_url, info.token())
    try:
        # the platform as seeded: repos, the prod gate, every environment serving 1.0.0
        assert {"demo/app", "demo/config"} <= set(api.request("GET", "/repos"))
        envs = {e["name"]: e for e in api.request("GET", "/repos/demo/app/environments")}
        assert envs["prod"]["reviewers"] == ["admin"]
        assert envs["dev"]["reviewers"] == []
        for env in ("dev", "staging", "prod"):
            tour.wait_served(env, "1.0.0")
        with Api(info.server_url, "not-a-token") as stranger, pytest.raises(ApiError) as no_token:
            stranger.runs()
        assert no_token.value.status == 401

        # commit → CI run → image
        pushed = tour.commit()
        run = tour.wait_run(pushed.sha)
        assert run["repo"] == "demo/app"
        assert run["workflow_name"] == "Application CI/CD"
        tour.wait_image(pushed.sha)

        # dev first: prod untouched
        dev = tour.wait_served("dev", pushed.version)
        assert f"{info.registry}/demo/app:{pushed.sha}" in dev.images  # old ones may drain
        assert tour.served("prod") == "1.0.0"
        tour.wait_served("staging", pushed.version)

        # the approval gate
        pending = tour.wait_approval(run["id"], "prod")
        assert pending["state"] == "pending"
        time.sleep(2)  # the gate holds: nothing reaches prod while it waits
        assert tour.served("prod") == "1.0.0"
        assert api.run(run["id"])["status"] == "in_progress"
        reader = api.create_token("e2e-reader", "read")
        with Api(info.server_url, reader) as read_only, pytest.raises(ApiError) as refused:
            read_only.approve(run["id"], "prod")
        assert refused.value.status == 403
        assert tour.pending(run["id"], "prod") is not None

        tour.approve(run["id"], "prod")
        prod = tour.wait_served("prod", pushed.version)
        assert f"{info.registry}/demo/app:{pushed.sha}" in prod.images
        done = tour.wait_run_concluded(run["id"])
        assert done["conclusion"] == "success"
        contexts = {s["context"]: s["state"] for s in api.statuses("demo/app", pushed.sha)}
        for env in ("dev", "staging", "prod"):
            assert contexts[f"deployment/{env}"] == "success"
        assert contexts["conveyor/Application CI/CD"] == "success"

        # self-healing, then a rollback by a revert commit in the config repo
        killed = tour.kill_one("prod")
        tour.wait_healed("prod", killed, pushed.version)
        tour.rollback_revert("prod")
        rolled = tour.wait_served("prod", "1.0.0")
        assert f"{info.registry}/demo/app:seed" in rolled.images
        assert tour.served("dev") == pushed.version  # only prod went back
        log = subprocess.run(
            ["git", "--git-dir", str(up.state / "server/git/demo/config.git"), "log", "-1",
             "--format=%s"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert log.startswith("Revert demo-prod")
    finally:
        api.close()
        tour.close()

    # a clean stop: every child gone; a restart re-seeds nothing and serves the same
    assert up.stop() == 0
    for port in up.ports.values():
        assert not port_open(port)
    assert not (up.state / "platform.json").exists()
    info = up.start()
    log = up.log.read_text()
    assert log.count("Conveyor is up.") == 2
    assert log.count("seeded: ") == 1
    assert overview.served_version(info.environments["prod"]) == "1.0.0"
    assert httpx.get(f"{info.server_url}/healthz").status_code < 500
    print(f"conveyor up ready in {startup:.1f}s; tour: " + ", ".join(
        f"{s.name} {s.seconds:.1f}s" for s in tour.steps))  # fmt: skip
