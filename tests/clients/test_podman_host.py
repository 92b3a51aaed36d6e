"""Host detection and the Conveyor-owned containers.conf."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from conveyor.clients.podman import Podman
from conveyor.clients.podman_host import (
    HostFacts,
    choose,
    detect,
    render_containers_conf,
    render_registries_conf,
    write_config,
)
from conveyor.clients.podman_images import ensure_busybox_image


def facts(**kw: object) -> HostFacts:
    base: dict[str, object] = {
        "cgroup_v2_only": False,
        "systemd_pid1": False,
        "runtimes": ("crun", "runc"),
        "nofile_hard": 1024,
        "nproc_hard": 4096,
    }
    base.update(kw)
    return HostFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "runtime", "manager", "logger"),
    [
        ({}, "runc", "cgroupfs", "file"),  # hybrid cgroups: crun refuses to run
        ({"cgroup_v2_only": True}, "crun", "cgroupfs", "file"),
        ({"cgroup_v2_only": True, "systemd_pid1": True}, "crun", "systemd", "journald"),
        ({"runtimes": ("crun",)}, "crun", "cgroupfs", "file"),  # nothing better to offer
        ({"cgroup_v2_only": True, "runtimes": ("runc",)}, "runc", "cgroupfs", "file"),
    ],
)
def test_choose_settings_for_the_host(
    kw: dict[str, object], runtime: str, manager: str, logger: str
) -> None:
    settings = choose(facts(**kw))
    assert (settings.runtime, settings.cgroup_manager, settings.events_logger) == (
        runtime,
        manager,
        logger,
    )


def test_ulimits_never_exceed_the_host_hard_limits() -> None:
    settings = choose(facts(nofile_hard=512, nproc_hard=100))
    assert settings.ulimits == ("nofile=512:512", "nproc=100:100")


def test_detect_reads_this_host() -> None:
    found = detect()
    assert found.nofile_hard >= 1
    assert "cgroup" in found.describe()


def test_rendered_files_are_toml_podman_understands() -> None:
    text = render_containers_conf(choose(facts()))
    assert 'runtime = "runc"' in text
    assert '"nofile=1024:1024"' in text
    registries = render_registries_conf(["127.0.0.1:5000"])
    assert 'location = "127.0.0.1:5000"\ninsecure = true' in registries


def test_write_config_is_idempotent_and_returns_the_selecting_environment(tmp_path: Path) -> None:
    env = write_config(tmp_path, insecure_registries=["127.0.0.1:5000"])
    conf = Path(env["CONTAINERS_CONF"])
    first = conf.stat().st_mtime_ns
    assert write_config(tmp_path, insecure_registries=["127.0.0.1:5000"]) == env
    assert conf.stat().st_mtime_ns == first
    assert Path(env["CONTAINERS_REGISTRIES_CONF"]).read_text().count("[[registry]]") == 1


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_runs_a_container_from_the_local_busybox_base(tmp_path: Path) -> None:
    async def scenario() -> str:
        podman = Podman(state_dir=tmp_path / "podman")
        tag = await ensure_busybox_image(podman)
        result = await podman.run("run", "--rm", tag, "sh", "-c", "echo ok from $(uname -s)")
        return result.stdout

    assert asyncio.run(scenario()).strip() == "ok from Linux"


def test_cancelling_a_call_whose_process_already_exited_raises_cancelled(tmp_path: Path) -> None:
    # The program exits at once but a child keeps its output pipe open, so the call is
    # still waiting when it is cancelled: kill() must not turn that into ProcessLookupError.
    fake = tmp_path / "fake-podman"
    fake.write_text("#!/bin/sh\nsleep 5 &\nexit 0\n")
    fake.chmod(0o755)

    async def scenario() -> None:
        podman = Podman(state_dir=tmp_path / "podman", binary=str(fake))
        task = asyncio.create_task(podman.run("version"))
        await asyncio.sleep(0.5)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
