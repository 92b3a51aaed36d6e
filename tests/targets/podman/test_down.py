"""`conveyor down` on real Podman: it stops the target's Service proxy and removes the
target's containers and networks (what outlives every `conveyor up` and `reconcile
--once`), touches nothing without the target's labels, says what it removed, and a second
run finds nothing (issue 11, section 3)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conveyor.app.cmd_down import down
from conveyor.targets.podman import names
from conveyor.targets.podman.routing import ProxyHandle

from .conftest import WEB_IMAGE, Env, free_port
from .http import get, wait_for
from .manifests import deployment, service
from .test_once_cli import Once
from .test_reconciler_e2e import config_repo, publish


async def _deploy(env: Env, port: int) -> None:
    target = env.make()
    try:
        await target.apply(deployment("web", image=f"{WEB_IMAGE}:v1"))
        await target.apply(service("web", port))
        await wait_for(port, "v1")
    finally:
        await target.aclose()  # the process "exits"; the proxy and containers stay


def _config(env: Env, tmp_path: Path) -> Path:
    config = tmp_path / "conveyor.yaml"
    target = {"name": env.name, "type": "podman", "stateDir": str(env.state_dir)}
    config.write_text(yaml.safe_dump({"targets": [target]}))
    return config


def test_down_removes_the_targets_workloads_networks_and_proxy_and_nothing_else(
    env: Env, tmp_path: Path
) -> None:
    port = free_port()
    asyncio.run(_deploy(env, port))
    proxy_pid = ProxyHandle(env.state_dir / "proxy").pid()
    assert proxy_pid is not None
    foreign = f"once-foreign-{uuid.uuid4().hex[:6]}"  # no Conveyor labels: never touched
    asyncio.run(env.podman.run("create", "--name", foreign, f"{WEB_IMAGE}:v1"))
    try:
        args = ["--state-dir", str(tmp_path / "up"), "--config", str(_config(env, tmp_path))]
        result = CliRunner().invoke(down, args)
        assert result.exit_code == 0, result.output
        network = names.network_name(env.name, "demo")
        assert f"target {env.name}:" in result.output
        assert f"stopped the Service proxy (pid {proxy_pid})" in result.output
        assert "removed 2 containers: " in result.output
        assert f"removed 1 networks: {network}" in result.output
        flt = f"label={names.TARGET_LABEL}={env.name}"
        left = asyncio.run(env.podman.run("ps", "-aq", "--filter", flt)).stdout.split()
        assert left == []
        assert ProxyHandle(env.state_dir / "proxy").pid() is None
        with pytest.raises(OSError):
            asyncio.run(get(port))
        exists = asyncio.run(env.podman.run("container", "exists", foreign, check=False))
        assert exists.returncode == 0

        again = CliRunner().invoke(down, args)
        assert again.exit_code == 0, again.output
        assert f"target {env.name}: nothing to remove" in again.output
    finally:
        asyncio.run(env.podman.run("rm", "-f", foreign, check=False))


def test_after_down_the_next_reconcile_deploys_an_app_without_self_heal_again(
    env: Env, tmp_path: Path
) -> None:
    """`down` forgets what the apps ran and tells the reconciler's state so: the next
    `reconcile --once` deploys again an automated app without selfHeal, which would
    otherwise stay down as "live state drifted; selfHeal is off"."""
    origin, work = config_repo(tmp_path)
    port = free_port()
    publish(work, f"{WEB_IMAGE}:v1", port)
    once = Once.make(env, tmp_path, origin)
    apps = tmp_path / "apps.yaml"
    app = yaml.safe_load(apps.read_text())
    app["spec"]["syncPolicy"]["automated"] = {"prune": True}
    apps.write_text(yaml.safe_dump(app))

    code, out, err = asyncio.run(once.run())
    assert code == 0, out + err
    assert asyncio.run(get(port)) == "v1"
    args = ["--state-dir", str(tmp_path / "up"), "--config", str(tmp_path / "conveyor.yaml")]
    result = CliRunner().invoke(down, args)
    assert result.exit_code == 0, result.output
    assert "the reconciler deploys web again when it next starts" in result.output
    with pytest.raises(OSError):
        asyncio.run(get(port))

    code, out, err = asyncio.run(once.run())
    assert code == 0, out + err
    assert "Synced     Healthy" in out
    asyncio.run(wait_for(port, "v1"))
