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

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor.app import overview
from conveyor.app.api import Api, ApiError, wait_for
from conveyor.app.tour import Tour
from conveyor.app.uplaunch import UpProcess, port_open
from tests.e2e.demoup import demo_up
from tests.gitutil import git

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    with demo_up(tmp_path) as runner:
        yield runner


def test_commit_to_prod_and_back(up: UpProcess) -> None:
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
        assert api.run(run["id"])["status"] == "waiting"  # as GitHub: no runner is held
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
        killed = tour.kill_one("prod", f"{info.registry}/demo/app:{pushed.sha}")
        tour.wait_healed("prod", killed, pushed.version)
        tour.rollback_revert("prod")
        rolled = tour.wait_served("prod", "1.0.0")
        assert f"{info.registry}/demo/app:seed" in rolled.images
        assert tour.served("dev") == pushed.version  # only prod went back
        log = git(up.state / "server/git/demo/config.git", "log", "-1", "--format=%s")
        assert log.startswith("Revert demo-prod")
    finally:
        api.close()
        tour.close()

    # once prod's rollout has settled (old replicas drained), a clean stop: every child
    # gone, the workloads keep serving; a restart re-seeds nothing and serves the same
    def settled() -> bool:
        view = tour.env_view("prod")
        return view.images == (f"{info.registry}/demo/app:seed",) and view.running == 2

    wait_for("prod's rollout to settle", settled, timeout=60)
    assert up.stop() == 0
    assert overview.served_version(info.environments["prod"]) == "1.0.0"
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
