"""A reconciler killed with SIGKILL mid-sync converges after restart: no orphans (objects
created by the killed sync and dropped from Git meanwhile are pruned) and no duplicates.
A real subprocess runs `conveyor reconcile --once` against a file-backed memory target.
(This should also run against the Podman target, issue 7.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from conveyor.store import Store

from .conftest import ConfigRepo, application, configmap

SCRIPT = (
    "import sys; from conveyor.app.cmd_reconcile import reconcile; "
    "reconcile.main(sys.argv[1:], prog_name='conveyor reconcile')"
)


def run(apps: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", SCRIPT, "--apps", str(apps), "--config", str(config), "--once"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def live_names(state_file: Path) -> list[str]:
    if not state_file.exists():
        return []
    rows = json.loads(state_file.read_text())["objects"]
    return [row["obj"]["metadata"]["name"] for row in rows]


def test_kill_9_mid_sync_then_restart_converges(repo: ConfigRepo, tmp_path: Path) -> None:
    state_file = tmp_path / "target.json"
    config = tmp_path / "conveyor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "targets": [
                    {
                        "name": "memory",
                        "type": "memory",
                        "stateFile": str(state_file),
                        "applyDelay": 0.03,
                    }
                ],
                "state": str(tmp_path / "state.db"),
                "cache": str(tmp_path / "cache"),
            }
        )
    )
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "web.yaml").write_text(
        application("web", repo, "app", automated={"prune": True, "selfHeal": True})
    )
    repo.write_objects("app/cm.yaml", *(configmap(f"cm-{i}") for i in range(10)))
    repo.commit("v1")
    first = run(apps, config, tmp_path / "first.log")
    assert first.wait(60) == 0, (tmp_path / "first.log").read_text()

    repo.write_objects(
        "app/cm.yaml",
        *(configmap(f"a-new-{i}") for i in range(10)),
        *(configmap(f"cm-{i}", {"k": "2"}) for i in range(5, 10)),
    )
    repo.commit("v2: five renamed, five changed")
    killed = run(apps, config, tmp_path / "killed.log")
    deadline = time.monotonic() + 30
    while sum(n.startswith("a-new") for n in live_names(state_file)) < 4:
        assert time.monotonic() < deadline and killed.poll() is None
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait(10) == -signal.SIGKILL

    repo.write_objects(
        "app/cm.yaml",
        *(configmap(f"a-new-{i}") for i in range(2)),
        *(configmap(f"cm-{i}", {"k": "3"}) for i in range(5, 10)),
    )
    repo.commit("v3: drop most of the new ones again")
    last = run(apps, config, tmp_path / "last.log")
    assert last.wait(60) == 0, (tmp_path / "last.log").read_text()

    names = live_names(state_file)
    assert sorted(names) == sorted(
        [*(f"a-new-{i}" for i in range(2)), *(f"cm-{i}" for i in range(5, 10))]
    )
    assert len(names) == len(set(names))
    store = Store.open(tmp_path / "state.db")
    try:
        states = [op.state for op in store.operations("web")]
        results = [h.result for h in store.history("web")]
        inventory = store.inventory("web")
    finally:
        store.close()
    assert states == ["Succeeded", "Interrupted", "Succeeded"]
    assert results == ["Succeeded", "Interrupted", "Succeeded"]
    assert len(inventory) == 7
