"""`conveyor reconcile --shard-lease NAMESPACE`: a real daemon process reaching kmock's
KubernetesEmulator through KUBECONFIG holds its Lease (with its `--shard-advertise`
endpoint), reconciles its share (all apps, as the only replica) after its warm-up, answers
on `--listen` with the `--token-file` token, and deletes its Lease on SIGTERM; bad
combinations of options are refused."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import kmock
import pytest
import yaml
from click.testing import CliRunner

from conveyor.app import shardlease
from conveyor.app.cmd_reconcile import reconcile
from conveyor.core.errors import UserError
from conveyor.targets.base import ObjectRef
from conveyor.targets.memory import MemoryTarget
from tests.clients.kubeemu import emulated
from tests.server.conftest import free_port

from .conftest import ConfigRepo, application, deployment

LEASES = kmock.resource("coordination.k8s.io", "v1", "leases")
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


def kubeconfig(path: Path, url: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emu", "cluster": {"server": url}}],
                "users": [{"name": "emu", "user": {"token": "test"}}],
                "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "emu"}}],
                "current-context": "emu",
            }
        )
    )
    return path


def test_sharded_daemon_holds_its_lease_reconciles_and_releases_on_sigterm(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    state_file = tmp_path / "target.json"
    config = tmp_path / "conveyor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "targets": [{"name": "memory", "type": "memory", "stateFile": str(state_file)}],
                "state": "state.db",
                "cache": "cache",
            }
        )
    )
    apps = tmp_path / "web.yaml"
    apps.write_text(application("web", repo, "app", automated={"prune": True}))
    repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    repo.commit()
    script = "import sys; from conveyor.app.cmd_reconcile import reconcile; reconcile.main()"
    args = ["--apps", str(apps), "--config", str(config), "--interval", "1h"]
    args += ["--shard-lease", "conveyor", "--shard-lease-duration", "3s"]
    port = free_port()
    token = tmp_path / "token"
    token.write_text("a-token-from-a-mounted-secret\n")
    args += ["--listen", f"127.0.0.1:{port}", "--token-file", str(token)]
    args += ["--shard-advertise", f"http://127.0.0.1:{port}"]

    async def go() -> None:
        async with emulated() as emu:
            env = {
                **os.environ,
                "KUBECONFIG": str(kubeconfig(tmp_path / "kubeconfig", emu.url)),
                "POD_NAME": "reconciler-0",
            }
            with (tmp_path / "loop.log").open("wb") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", script, *args, env=env, stdout=log, stderr=log
                )
            try:
                for _ in range(300):  # warm-up (3 s), then the reconcile
                    if state_file.exists() and MemoryTarget(state_file=state_file).peek(WEB):
                        break
                    await asyncio.sleep(0.05)
                else:
                    pytest.fail((tmp_path / "loop.log").read_text())
                lease = emu.emulator.objects[LEASES, "conveyor", "conveyor-reconciler-reconciler-0"]
                assert lease["spec"]["holderIdentity"].startswith("reconciler-0_")
                assert lease["metadata"]["labels"] == {"conveyor.dev/shard-group": "reconciler"}
                endpoint = lease["metadata"]["annotations"]["conveyor.dev/endpoint"]
                assert endpoint == f"http://127.0.0.1:{port}"
                bearer = {"Authorization": "Bearer a-token-from-a-mounted-secret"}
                async with httpx.AsyncClient() as client:
                    listed = await client.get(f"{endpoint}/apps", headers=bearer)
                assert listed.status_code == 200 and "web" in listed.json()
            finally:
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 30) == 0
            assert lease.deleted, (tmp_path / "loop.log").read_text()

    asyncio.run(go())


def test_shard_lease_is_refused_with_once_and_its_duration_without_it(tmp_path: Path) -> None:
    apps = ["--apps", str(tmp_path)]
    result = CliRunner().invoke(reconcile, [*apps, "--once", "--shard-lease", "conveyor"])
    assert isinstance(result.exception, UserError)
    assert "--once reconciles all" in str(result.exception)
    result = CliRunner().invoke(reconcile, [*apps, "--shard-lease-duration", "5s"])
    assert isinstance(result.exception, UserError)
    assert "only used with --shard-lease" in str(result.exception)


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        (["--shard-lease", "ns", "--listen", "127.0.0.1:0"], "needs --shard-advertise"),
        (["--shard-advertise", "http://10.0.0.1:8081"], "only used with --shard-lease"),
        (["--shard-lease", "ns", "--shard-advertise", "http://10.0.0.1:1"], "there is no --listen"),
        (
            ["--shard-lease", "ns", "--listen", ":1", "--shard-advertise", "10.0.0.1:8081"],
            "give http://HOST:PORT",
        ),
        (["--token-file", "TOKEN"], "does not run"),
        (["--token-file", "SHORT", "--listen", "127.0.0.1:0"], "shorter than 16"),
    ],
)
def test_listen_options_that_cannot_work_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: list[str], refusal: str
) -> None:
    monkeypatch.setenv("POD_NAME", "reconciler-0")
    (tmp_path / "token").write_text("x" * 32)
    (tmp_path / "short").write_text("x\n")
    files = {"TOKEN": str(tmp_path / "token"), "SHORT": str(tmp_path / "short")}
    args = ["--apps", str(tmp_path), *(files.get(a, a) for a in given)]
    result = CliRunner().invoke(reconcile, args)
    assert isinstance(result.exception, UserError), result.output
    assert refusal in str(result.exception)


def test_a_short_lease_duration_and_a_bad_pod_name_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAME", "reconciler-0")
    with pytest.raises(UserError, match="whole seconds, at least 3"):
        shardlease.from_options("conveyor", "2s", once=False)
    monkeypatch.setenv("POD_NAME", "Reconciler_0")
    with pytest.raises(UserError, match="cannot name a Lease"):
        shardlease.pod_name()


def test_no_kubernetes_configuration_names_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(UserError, match="no Kubernetes configuration") as caught:
        shardlease.kube_client("conveyor")
    assert caught.value.hint and "KUBECONFIG" in caught.value.hint
