"""`conveyor reconcile` and `conveyor app …` through click's CliRunner, against a
file-backed memory target so state carries from one command to the next."""

from __future__ import annotations

import base64
import json
import signal
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conveyor.app.cmd_app import app
from conveyor.app.cmd_reconcile import reconcile
from conveyor.targets.base import ObjectRef
from conveyor.targets.memory import MemoryTarget

from .conftest import ConfigRepo, application, deployment
from .daemon import start_daemon

WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
SECRET = ObjectRef(group="", kind="Secret", namespace="prod", name="creds")


@pytest.fixture
def setup(repo: ConfigRepo, tmp_path: Path) -> tuple[list[str], Path]:
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
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "web.yaml").write_text(application("web", repo, "app", automated={"prune": True}))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "stringData": {"password": "hunter2"},
    }
    repo.write_objects("app/web.yaml", deployment("web", replicas=2), secret)
    repo.commit("v1")
    return ["--apps", str(apps), "--config", str(config)], state_file


def invoke(command: object, args: list[str], code: int = 0) -> str:
    result = CliRunner().invoke(command, args)  # type: ignore[arg-type]
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def test_reconcile_once_then_app_commands(
    setup: tuple[list[str], Path], repo: ConfigRepo, tmp_path: Path
) -> None:
    opts, state_file = setup
    statuses = json.loads(invoke(reconcile, [*opts, "--once", "--json"]))
    assert statuses["web"]["sync"]["status"] == "Synced"

    target = MemoryTarget(state_file=state_file)
    target.edit(WEB, lambda obj: obj["spec"].update(replicas=5))
    leaked = base64.b64encode(b"changed-pw").decode()
    target.edit(SECRET, lambda obj: obj.update(data={"password": leaked}))

    out = invoke(app, ["diff", "web", *opts], code=1)
    assert "-  replicas: 5" in out and "+  replicas: 2" in out
    assert "hunter2" not in out and leaked not in out
    assert base64.b64encode(b"hunter2").decode() not in out
    assert "-  password: ++++++++ (live value)" in out
    assert "+  password: ++++++++ (desired value)" in out
    as_json = json.loads(invoke(app, ["diff", "web", *opts, "--json"], code=1))
    assert sorted(d["object"] for d in as_json) == ["Deployment.apps prod/web", "Secret prod/creds"]

    synced = json.loads(invoke(app, ["sync", "web", *opts, "--json"]))
    assert synced["operation"]["phase"] == "Succeeded"
    assert MemoryTarget(state_file=state_file).peek(WEB)["spec"]["replicas"] == 2  # type: ignore[index]
    invoke(app, ["diff", "web", *opts])

    repo.write_objects("app/web.yaml", deployment("web", "web:2", replicas=2))
    repo.commit("v2")
    state = ["--state", str(tmp_path / "state.db")]
    refreshed = json.loads(invoke(app, ["refresh", "web", *state, "--json"]))  # remembered
    assert refreshed["sync"]["status"] == "Synced"
    history = json.loads(invoke(app, ["history", "web", *state, "--json"]))
    assert [h["result"] for h in history] == ["Succeeded"] * 3
    assert [h["initiatedBy"] for h in history] == ["auto-sync", "cli", "auto-sync"]

    out = invoke(app, ["rollback", "web", str(history[1]["id"]), *state])
    assert "auto-sync paused: auto-sync paused by rollback" in out
    got = json.loads(invoke(app, ["get", "web", *state, "--json"]))
    assert got["autoSync"]["paused"] is True
    listed = invoke(app, ["list", *state])
    assert listed.splitlines()[1].startswith("web ")


def test_reconcile_once_exits_1_when_an_app_is_not_ready(repo: ConfigRepo, tmp_path: Path) -> None:
    config = tmp_path / "conveyor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "targets": [{"name": "memory", "type": "memory"}],
                "state": "state.db",
                "cache": "cache",
            }
        )
    )
    apps = tmp_path / "apps.yaml"
    apps.write_text(application("web", repo, "app", automated={"prune": True}))
    repo.write("app/bad.yaml", "kind: [\n")
    repo.commit()
    out = invoke(reconcile, ["--apps", str(apps), "--config", str(config), "--once"], code=1)
    assert "RenderFailed" in out and "bad.yaml:" in out


def test_unknown_app_is_a_user_error(setup: tuple[list[str], Path]) -> None:
    opts, _ = setup
    invoke(reconcile, [*opts, "--once"])
    result = CliRunner().invoke(app, ["sync", "nope", *opts])
    assert result.exit_code != 0
    assert "no application named 'nope'" in str(result.exception)


def test_apps_can_come_from_the_config_repo_itself(repo: ConfigRepo, tmp_path: Path) -> None:
    config = tmp_path / "conveyor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "targets": [{"name": "memory", "type": "memory"}],
                "state": "state.db",
                "cache": "cache",
            }
        )
    )
    repo.write("apps/web.yaml", application("web", repo, "envs/web", automated={"prune": True}))
    repo.write_objects("envs/web/web.yaml", deployment("web"))
    repo.commit()
    out = json.loads(
        invoke(
            reconcile,
            ["--apps", f"file://{repo.origin}", "--config", str(config), "--once", "--json"],
        )
    )
    assert list(out) == ["web"] and out["web"]["sync"]["status"] == "Synced"


def test_reconcile_loop_serves_metrics_and_refresh_triggers(
    repo: ConfigRepo, tmp_path: Path
) -> None:

    proc, port, state_file = start_daemon(repo, tmp_path)

    def image() -> str | None:
        live = MemoryTarget(state_file=state_file).peek(WEB) if state_file.exists() else None
        return live["spec"]["template"]["spec"]["containers"][0]["image"] if live else None

    def wait(predicate: object) -> None:
        deadline = time.monotonic() + 30
        while not predicate():  # type: ignore[operator]
            assert proc.poll() is None, (tmp_path / "loop.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)

    try:
        wait(lambda: image() == "web:1")
        url = f"http://127.0.0.1:{port}"
        token_file = tmp_path / "reconciler.token"
        wait(token_file.exists)
        bearer = {"Authorization": f"Bearer {token_file.read_text()}"}
        assert _get(url + "/healthz") == b"ok\n"  # the one route without the token
        assert _get(url + "/metrics") == b""  # 401
        wait(lambda: b"conveyor_app_syncs_total" in _get(url + "/metrics", bearer))
        repo.write_objects("app/web.yaml", deployment("web", "web:2"))
        repo.commit()
        refused = urllib.request.Request(url + "/refresh/web", method="POST")
        with pytest.raises(urllib.error.HTTPError) as unauthorized:
            urllib.request.urlopen(refused, timeout=5)
        assert unauthorized.value.code == 401
        unauthorized.value.close()
        request = urllib.request.Request(url + "/refresh/web", method="POST", headers=bearer)
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
        wait(lambda: image() == "web:2")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (tmp_path / "loop.log").read_text()
    logged = (tmp_path / "loop.log").read_text()  # the daemon logs what it does, INFO up
    assert " INFO app web: sync Succeeded at " in logged, logged


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:

    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=5) as response:
            return bytes(response.read())
    except urllib.error.URLError:
        return b""


def test_rollback_revert_commits_to_the_config_repo(
    setup: tuple[list[str], Path], repo: ConfigRepo
) -> None:
    opts, state_file = setup
    invoke(reconcile, [*opts, "--once"])
    repo.write_objects("app/web.yaml", deployment("web", "web:2", replicas=2))
    repo.commit("v2")
    invoke(reconcile, [*opts, "--once"])
    out = invoke(app, ["rollback", "web", "--revert", *opts])
    assert out.startswith("committed revert ")
    repo.pull()
    assert (repo.work / "app/web.yaml").read_text().count("image: web:1") == 1

    def live_image() -> str:
        live = MemoryTarget(state_file=state_file).peek(WEB)
        assert live is not None
        return str(live["spec"]["template"]["spec"]["containers"][0]["image"])

    # The CLI only commits: the running reconciler deploys the revert, so two syncs never
    # race for one target.
    assert live_image() == "web:2"
    invoke(reconcile, [*opts, "--once"])
    assert live_image() == "web:1"
    assert "auto-sync paused" not in out


def test_app_commands_go_to_the_running_daemon_with_its_token(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    """With `conveyor reconcile --listen` running, `conveyor app sync|refresh|rollback` are
    done by that daemon (never a second reconciler beside it), behind its bearer token."""

    proc, port, state_file = start_daemon(repo, tmp_path)
    token_file = tmp_path / "reconciler.token"
    state = ["--state", str(tmp_path / "state.db")]

    def app_cmd(*argv: str) -> tuple[str, str]:
        result = CliRunner().invoke(app, [*argv, *state, "--json"])
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.stdout, result.stderr

    try:
        deadline = time.monotonic() + 30
        while not token_file.exists() or not state_file.exists():
            assert proc.poll() is None, (tmp_path / "loop.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        for token in ("", "wrong"):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/apps/web/sync",
                method="POST",
                headers={"Authorization": f"Bearer {token}"},
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=5)
            assert refused.value.code == 401
            refused.value.close()

        repo.write_objects("app/web.yaml", deployment("web", "web:2"))
        repo.commit()
        out, err = app_cmd("sync", "web")
        assert f"(done by the running reconciler, pid {proc.pid})" in err
        assert json.loads(out)["operation"]["phase"] == "Succeeded"
        live = MemoryTarget(state_file=state_file).peek(WEB)
        assert live is not None and live["spec"]["template"]["spec"]["containers"][0]["image"] == (
            "web:2"
        )
        history = json.loads(invoke(app, ["history", "web", *state, "--json"]))
        out, err = app_cmd("rollback", "web", str(history[0]["id"]))
        assert f"pid {proc.pid}" in err and json.loads(out)["autoSync"]["paused"] is True
        out, err = app_cmd("refresh", "web")
        assert f"pid {proc.pid}" in err
        result = CliRunner().invoke(app, ["sync", "nope", *state])
        assert result.exit_code != 0  # a UserError: `conveyor` prints it and exits 2
        assert "refused: no application named 'nope'" in str(result.exception)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (tmp_path / "loop.log").read_text()
    assert not token_file.exists()  # withdrawn: the next command acts in-process
    out, err = app_cmd("refresh", "web")
    assert "running reconciler" not in err
