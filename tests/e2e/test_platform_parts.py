"""The parts `conveyor up` is built from, each on real processes: the supervisor, the
registry (Debian's docker-registry, pushed to with Podman) and repository seeding (over
Git smart HTTP with a token)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conveyor.app import platform, seed
from conveyor.app.registry import registry_config, registry_service
from conveyor.app.supervisor import Readiness, ServiceSpec, Supervisor, SupervisorError, probe
from conveyor.clients.podman import Podman
from conveyor.clients.sops import agekeys
from conveyor.server.githttp import GitHttpServer
from tests.gitutil import git, init

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_server(tmp: Path, port: int, **kw: object) -> ServiceSpec:
    argv = (sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port))
    return ServiceSpec(
        name="web",
        argv=argv,
        log=tmp / "web.log",
        cwd=tmp,
        ready=Readiness(url=f"http://127.0.0.1:{port}/", timeout=10),
        stop_grace=2.0,
        **kw,  # type: ignore[arg-type]
    )


def test_supervisor_starts_waits_restarts_and_stops(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run")
    port = free_port()
    child = sup.start(http_server(tmp_path, port))
    assert probe(Readiness(url=f"http://127.0.0.1:{port}/"))
    os.kill(child.proc.pid, signal.SIGKILL)
    child.proc.wait()
    assert sup.check() == ["web"]
    assert sup.children["web"].restarts == 1
    assert probe(Readiness(url=f"http://127.0.0.1:{port}/"))
    pid = sup.children["web"].proc.pid
    sup.stop_all()
    assert not sup.children
    assert not (tmp_path / "run" / "web.pid").exists()
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/cmdline").read_bytes() == b""


def test_a_child_left_by_a_dead_supervisor_is_stopped_on_restart(tmp_path: Path) -> None:
    port = free_port()
    first = Supervisor(tmp_path / "run")
    old = first.start(http_server(tmp_path, port)).proc  # `first` then "dies" without stopping
    second = Supervisor(tmp_path / "run")
    second.start(http_server(tmp_path, port))  # the port is free again: the stale child is gone
    assert old.wait(timeout=10) is not None
    second.stop_all()


def test_a_child_that_exits_while_starting_reports_its_log(tmp_path: Path) -> None:
    spec = ServiceSpec(
        name="broken",
        argv=(sys.executable, "-c", "import sys; print('no config here'); sys.exit(3)"),
        log=tmp_path / "broken.log",
        ready=Readiness(tcp=("127.0.0.1", free_port()), timeout=10),
    )
    with pytest.raises(SupervisorError, match=r"exited with code 3(.|\n)*no config here"):
        Supervisor(tmp_path / "run").start(spec)


def test_a_child_that_keeps_crashing_stops_the_platform(tmp_path: Path) -> None:
    port = free_port()
    sup = Supervisor(tmp_path / "run", max_crashes=1)
    sup.start(http_server(tmp_path, port))
    for _ in range(2):
        os.kill(sup.children["web"].proc.pid, signal.SIGKILL)
        sup.children["web"].proc.wait()
        try:
            sup.check()
        except SupervisorError as exc:
            assert "giving up" in str(exc)
            break
    else:
        pytest.fail("the supervisor kept restarting")
    sup.stop_all()


def test_registry_config_is_loopback_with_data_under_state() -> None:
    text = registry_config(Path("/s/registry/data"), "127.0.0.1:5999")
    assert "addr: 127.0.0.1:5999" in text
    assert "rootdirectory: /s/registry/data" in text
    assert "auth" not in text


@pytest.mark.slow
def test_registry_serves_pushes_from_podman(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    sup = Supervisor(tmp_path / "run")
    started = time.monotonic()
    sup.start(registry_service(tmp_path, address))
    assert time.monotonic() - started < 5
    try:
        podman = Podman(state_dir=tmp_path / "podman", insecure_registries=[address])
        image = asyncio.run(seed.seed_image(EXAMPLES / "demo-app", address, podman))
        assert image == f"{address}/demo/app:seed"
        out = subprocess.run(
            ["curl", "-fsS", f"http://{address}/v2/demo/app/tags/list"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert '"seed"' in out
        asyncio.run(podman.run("rmi", image, check=False))
    finally:
        sup.stop_all()


def test_seed_pushes_examples_once_with_the_platform_addresses(tmp_path: Path) -> None:
    root = tmp_path / "git"
    bare = root / "demo" / "config.git"
    init(bare, bare=True)
    token = "t0ken-for-seeding"
    with GitHttpServer(root, tokens={token: "admin"}) as server:
        url = f"{server.url}/demo/config.git"
        subs = {seed.DEFAULT_REGISTRY: "127.0.0.1:6001", seed.DEFAULT_SERVER: "http://x:1"}
        age = [agekeys.ensure_key_file(tmp_path / "age.key")]
        with pytest.raises(seed.SeedError) as refused:
            seed.seed_repo(EXAMPLES / "demo-config", url, token="wrong", substitutions=subs)
        assert "wrong" not in str(refused.value)
        with pytest.raises(
            seed.SeedError, match=r"greeting\.sops\.yaml would be committed in clear"
        ):
            seed.seed_repo(EXAMPLES / "demo-config", url, token=token, substitutions=subs)
        sha = seed.seed_repo(
            EXAMPLES / "demo-config", url, token=token, substitutions=subs, age_recipients=age
        )
        assert sha is not None
        assert (
            seed.seed_repo(EXAMPLES / "demo-config", url, token=token, substitutions=subs) is None
        )
    secret = git(bare, "show", "main:base/greeting.sops.yaml")
    assert "Hello from" not in secret and "ENC[AES256_GCM," in secret and age[0] in secret
    show = git(bare, "show", "main:envs/dev/kustomization.yaml")
    assert "newName: 127.0.0.1:6001/demo/app" in show
    app = git(bare, "show", "main:apps/prod.yaml")
    assert "repoURL: http://x:1/git/demo/config.git" in app


def test_platform_info_round_trips_and_missing_file_says_start_up(tmp_path: Path) -> None:
    info = platform.PlatformInfo(
        state_dir=str(tmp_path),
        server_url="http://127.0.0.1:1",
        registry="127.0.0.1:2",
        token_file=str(tmp_path / "token"),
        state_db=str(tmp_path / "state.db"),
        environments=platform.demo_environments(),
    )
    platform.save(info)
    assert platform.load(tmp_path) == info
    assert info.git_url("demo/app") == "http://127.0.0.1:1/git/demo/app.git"
    platform.remove(tmp_path)
    with pytest.raises(Exception, match="conveyor up"):
        platform.load(tmp_path)
