"""Custom health end to end: a Lua script from conveyor.yaml decides the health of a
custom resource on the memory target, gates sync waves, and a runaway script costs one
object an Unknown health, not the reconciler its pass. Through the CLI too."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from conveyor.app.cli import run
from conveyor.app.cmd_reconcile import reconcile
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.config import load_config
from conveyor.reconcile.health import Checker, HealthScript
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.targets.base import ObjectRef

from .conftest import ConfigRepo, World, application, configmap

AUTO = {"prune": True, "selfHeal": True}
DB = ObjectRef(group="db.example.com", kind="Database", namespace="prod", name="orders")
CONFIG = """
targets: [{name: memory, type: memory}]
state: s.db
cache: c
resource.customizations.health.db.example.com_Database: |
  hs = {status = "Progressing", message = "waiting for the operator"}
  if obj.spec.size > 10 then
    return {status = "Degraded", message = "size " .. obj.spec.size .. " exceeds the quota"}
  end
  if obj.status ~= nil and obj.status.phase == "Failed" then
    hs.status = "Degraded"
    hs.message = obj.status.reason
  elseif obj.status ~= nil and obj.status.phase == "Running" then
    hs.status = "Healthy"
    hs.message = ""
  end
  return hs
"""


def database(size: int = 3, **notes: str) -> dict[str, Any]:
    return {
        "apiVersion": "db.example.com/v1",
        "kind": "Database",
        "metadata": {"name": "orders", "annotations": notes},
        "spec": {"size": size},
    }


def _reconciler(world: World, checker: Checker, *docs: str) -> Reconciler:
    env = Env(
        targets={"memory": world.target},
        store=world.store,
        sources=Sources(world.cache),
        sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
        health=checker,
    )
    apps = [a for doc in docs for a in parse_applications(doc, "apps.yaml")]
    return Reconciler(apps, env)


def _checker(tmp_path: Path) -> Checker:
    path = tmp_path / "conveyor.yaml"
    path.write_text(dedent(CONFIG))
    return Checker(load_config(path).health)


def _health(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {o["object"]: (o["status"], o["message"]) for o in status["health"]["objects"]}


def test_a_lua_script_from_the_config_turns_a_custom_resource_degraded(
    world: World, tmp_path: Path
) -> None:
    world.repo.write_objects("app/all.yaml", database(), configmap("settings"))
    world.repo.commit()
    rec = _reconciler(
        world, _checker(tmp_path), application("db", world.repo, "app", automated=AUTO)
    )
    first = asyncio.run(rec.reconcile_all())["db"]
    assert _health(first)["Database.db.example.com prod/orders"] == (
        "Progressing",
        "waiting for the operator",
    )
    # the operator reports a failure in the status, as a controller would
    world.target.report(DB, {"phase": "Failed", "reason": "disk full"})
    second = asyncio.run(rec.reconcile_all())["db"]
    assert second["health"]["status"] == "Degraded"
    assert _health(second)["Database.db.example.com prod/orders"] == ("Degraded", "disk full")
    world.target.report(DB, {"phase": "Running"})
    assert asyncio.run(rec.reconcile_all())["db"]["health"]["status"] == "Healthy"


def test_a_wave_a_script_finds_degraded_fails_the_sync_before_the_next_wave(
    world: World, tmp_path: Path
) -> None:
    wave = "argocd.argoproj.io/sync-wave"
    world.repo.write_objects("app/all.yaml", database(size=20), configmap("later", **{wave: "1"}))
    world.repo.commit()
    rec = _reconciler(
        world, _checker(tmp_path), application("db", world.repo, "app", automated=AUTO)
    )
    status = asyncio.run(rec.reconcile_all())["db"]
    results = {r["object"]: (r["code"], r["message"]) for r in status["operation"]["results"]}
    assert results["Database.db.example.com prod/orders"] == (
        "SyncFailed",
        "wave 0 failed: size 20 exceeds the quota",
    )
    assert (
        world.target.peek(ObjectRef(group="", kind="ConfigMap", namespace="prod", name="later"))
        is None
    )


def test_a_script_that_never_ends_leaves_one_object_unknown_and_the_pass_finishes(
    world: World,
) -> None:
    checker = Checker(
        [HealthScript(pattern="db.example.com/Database", source="while true do end")],
        timeout=0.2,
    )
    world.repo.write_objects("app/all.yaml", database(), configmap("settings"))
    world.repo.commit()
    rec = _reconciler(world, checker, application("db", world.repo, "app"))
    started = time.monotonic()
    status = asyncio.run(rec.reconcile_all())["db"]
    assert time.monotonic() - started < 10
    assert status["health"]["status"] == "Missing"  # not synced: no automated policy
    asyncio.run(rec.sync("db", by="test"))
    status = asyncio.run(rec.reconcile_all())["db"]
    assert _health(status)["Database.db.example.com prod/orders"] == (
        "Unknown",
        "db.example.com/Database: health script timed out after 0.2s",
    )
    assert _health(status)["ConfigMap prod/settings"][0] == "Healthy"


def test_reconcile_once_reports_the_degraded_custom_resource(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    config = tmp_path / "conveyor.yaml"
    config.write_text(dedent(CONFIG))
    apps = tmp_path / "apps.yaml"
    apps.write_text(application("db", repo, "app", automated=AUTO))
    repo.write(
        "app/all.yaml", yaml.safe_dump_all([{**database(size=50), "metadata": {"name": "orders"}}])
    )
    repo.commit()
    args = ["--apps", str(apps), "--config", str(config), "--once", "--timeout", "5s"]
    result = CliRunner().invoke(reconcile, args)
    assert result.exit_code == 1, result.output
    assert "Degraded" in result.output
    assert "size 50 exceeds the quota" in result.output + result.stderr


def test_reconcile_refuses_a_config_with_a_broken_script_naming_the_key(
    repo: ConfigRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "conveyor.yaml"
    config.write_text(CONFIG.replace("  end\n  return hs\n", "  return hs\n"))
    apps = tmp_path / "apps.yaml"
    apps.write_text(application("db", repo, "app"))
    assert run(["reconcile", "--apps", str(apps), "--config", str(config), "--once"]) == 2
    stderr = capsys.readouterr().err
    assert f"{config}:5:1: resource.customizations.health.db.example.com_Database" in stderr
    assert "Lua syntax error: db.example.com/Database:12: 'end' expected" in stderr
