"""`conveyor reconcile --once` waits for the rollouts it started (issue 11, section 3):
through the CLI against a memory target whose workloads become ready after a delay, and
the pure rule of which apps are still moving."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pyrage import x25519

from conveyor.app.cmd_reconcile import reconcile
from conveyor.reconcile.settle import Outcome, moving, outcomes

from . import sopshelp
from .conftest import ConfigRepo, application, deployment


def _cli(repo: ConfigRepo, tmp_path: Path, *, ready_after: str, image: str = "web:1") -> list[str]:
    config = tmp_path / "conveyor.yaml"
    target = {"name": "memory", "type": "memory", "readyAfter": ready_after}
    config.write_text(yaml.safe_dump({"targets": [target], "state": "s.db", "cache": "c"}))
    apps = tmp_path / "apps.yaml"
    apps.write_text(application("web", repo, "app", automated={"prune": True}))
    repo.write_objects("app/web.yaml", deployment("web", image=image, replicas=2))
    repo.commit()
    return ["--apps", str(apps), "--config", str(config), "--once"]


def test_once_waits_for_the_rollout_and_exits_0_when_healthy(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    args = _cli(repo, tmp_path, ready_after="0.6s")
    result = CliRunner().invoke(reconcile, args)
    assert result.exit_code == 0, result.output
    assert "Synced     Healthy" in result.output


def test_once_exits_1_naming_the_degraded_app_and_what_to_do(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    args = _cli(repo, tmp_path, ready_after="0.3s", image="web:broken")
    result = CliRunner().invoke(reconcile, args)
    assert result.exit_code == 1
    assert "Degraded" in result.output
    assert "web: Degraded: " in result.stderr
    assert "fix it in Git" in result.stderr and "conveyor app get web" in result.stderr


@pytest.mark.parametrize("broken", ["no key", "wrong key", "tampered"])
def test_once_says_what_to_fix_for_a_secret_it_cannot_decrypt(
    repo: ConfigRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """A key problem is fixed by giving the reconciler the key, not in Git; a file that
    does not authenticate is fixed in Git."""
    args = _cli(repo, tmp_path, ready_after="0s")
    owner = x25519.Identity.generate()
    text = sopshelp.encrypted(owner)
    if broken == "tampered":
        text = text.replace("password: ENC[AES256_GCM,data:", "password: ENC[AES256_GCM,data:A")
    repo.write("app/db.sops.yaml", text)
    repo.commit()
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/sops/age/keys.txt
    if broken == "no key":
        monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    else:
        identity = x25519.Identity.generate() if broken == "wrong key" else owner
        key = sopshelp.key_file(tmp_path, identity)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    result = CliRunner().invoke(reconcile, args)
    assert result.exit_code == 1
    assert "SOPS decryption failed" in result.stderr
    key_hint = "give the reconciler the age key the file was encrypted for"
    assert (key_hint in result.stderr) is (broken != "tampered"), result.stderr
    assert ("fix it in Git" in result.stderr) is (broken == "tampered"), result.stderr
    assert sopshelp.PASSWORD not in result.output + result.stderr


def test_once_timeout_bounds_the_wait_and_says_the_rollout_resumes_later(
    repo: ConfigRepo, tmp_path: Path
) -> None:
    args = _cli(repo, tmp_path, ready_after="60s")
    started = time.monotonic()
    result = CliRunner().invoke(reconcile, [*args, "--timeout", "1s"])
    assert result.exit_code == 1
    assert time.monotonic() - started < 10
    assert "web: still progressing after --timeout 1s (Progressing: " in result.stderr
    assert "--timeout" in result.stderr.split("(Progressing")[1]


def _status(
    *, ready: bool = False, reconciling: bool = False, blocked: tuple[str, ...] = ()
) -> Any:
    return {
        "conditions": [
            {"type": "Ready", "status": str(ready)},
            {"type": "Reconciling", "status": str(reconciling)},
        ],
        "blockedOn": list(blocked),
    }


MOVING_CASES = [
    ({"a": _status(ready=True)}, set()),
    ({"a": _status(reconciling=True)}, {"a"}),
    ({"a": _status()}, set()),  # Degraded, failed: settled
    ({"a": _status(reconciling=True), "b": _status(blocked=("a",))}, {"a", "b"}),
    (
        {
            "a": _status(reconciling=True),
            "b": _status(blocked=("a",)),
            "c": _status(blocked=("b",)),
        },
        {"a", "b", "c"},
    ),
    ({"a": _status(), "b": _status(blocked=("a",))}, set()),  # blocked on a failed app
]


@pytest.mark.parametrize(("statuses", "expected"), MOVING_CASES)
def test_which_apps_are_still_moving(statuses: dict[str, Any], expected: set[str]) -> None:
    assert moving(statuses) == expected


def test_outcomes_tell_a_timeout_from_a_failure() -> None:
    statuses = {"ok": _status(ready=True), "slow": _status(reconciling=True), "bad": _status()}
    assert outcomes(statuses, timed_out=True) == {
        "ok": Outcome.READY,
        "slow": Outcome.TIMED_OUT,
        "bad": Outcome.FAILED,
    }
