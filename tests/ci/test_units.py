"""Table-driven tests of the CI service's pure parts and small adapters."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conveyor.ci.crypto import KEY_ENV, SecretBox, load_key
from conveyor.ci.deps import Wake
from conveyor.ci.errors import CIError
from conveyor.ci.events import github_event, push_event
from conveyor.ci.runnerscope import check_registration, covers
from conveyor.ci.settings import scope_of
from conveyor.ci.triggers import _labels, concurrency_of, labels_match
from conveyor.server.auth import Principal, Role
from conveyor.workflow.model import Concurrency, Workflow


@pytest.mark.parametrize(
    ("runner", "wanted", "ok"),
    [
        (["self-hosted", "linux", "gpu"], ["self-hosted", "gpu"], True),
        (["self-hosted", "linux"], ["self-hosted", "gpu"], False),
        (["Self-Hosted"], ["self-hosted"], True),
        ([], [], True),
        (["ubuntu-latest"], ["ubuntu-latest", "x64"], False),
    ],
)
def test_labels_match(runner: list[str], wanted: list[str], ok: bool) -> None:
    assert labels_match(runner, wanted) is ok


@pytest.mark.parametrize(
    ("raw", "labels"),
    [
        ("ubuntu-latest", ["ubuntu-latest"]),
        (["self-hosted", "gpu"], ["self-hosted", "gpu"]),
        ("${{ matrix.os }}", []),
        (["self-hosted", "${{ inputs.pool }}"], ["self-hosted"]),
        ({"group": "big", "labels": ["x64"]}, ["x64"]),
        (None, []),
    ],
)
def test_static_runs_on_labels(raw: object, labels: list[str]) -> None:
    assert _labels(raw) == labels


@pytest.mark.parametrize(
    ("group", "cancel", "ref", "expected"),
    [
        ("deploy-${{ github.ref }}", True, "refs/heads/main", ("deploy-refs/heads/main", True)),
        (
            "${{ github.workflow }}-${{ github.ref_name }}",
            False,
            "refs/heads/f/x",
            ("W-f/x", False),
        ),
        ("static", "${{ github.ref == 'refs/heads/main' }}", "refs/heads/dev", ("static", False)),
        ("${{ github.nope(1) }}", True, "refs/heads/main", ("", False)),
    ],
)
def test_concurrency_of(group: str, cancel: object, ref: str, expected: tuple[str, bool]) -> None:
    workflow = Workflow(
        path="w.yml", name="W", concurrency=Concurrency(group=group, cancel_in_progress=cancel)
    )
    event = push_event(
        full_name="o/r", clone_url="", ref=ref, before="0" * 40, after="a" * 40, pusher="me"
    )
    assert concurrency_of(workflow, event) == expected


@pytest.mark.parametrize(
    ("args", "scope"),
    [
        (("acme",), "org:acme"),
        (("acme", "app"), "repo:acme/app"),
        (("acme", "app", "prod"), "env:acme/app:prod"),
    ],
)
def test_scopes(args: tuple[str, ...], scope: str) -> None:
    assert scope_of(*args) == scope


@pytest.mark.parametrize(
    ("role", "needed", "ok"),
    [
        (Role.READ, Role.READ, True),
        (Role.READ, Role.WRITE, False),
        (Role.READ, Role.RUNNER, False),
        (Role.RUNNER, Role.READ, False),  # issue 12: a runner credential is for the protocol
        (Role.RUNNER, Role.RUNNER, True),
        (Role.RUNNER, Role.WRITE, False),
        (Role.WRITE, Role.RUNNER, False),  # issue 12: nobody but a runner poses as one
        (Role.WRITE, Role.ADMIN, False),
        (Role.ADMIN, Role.WRITE, True),
        (Role.ADMIN, Role.RUNNER, False),
    ],
)
def test_roles(role: Role, needed: Role, ok: bool) -> None:
    assert Principal(name="x", role=role).can(needed) is ok


@pytest.mark.parametrize(
    ("scope", "repo", "ok"),
    [
        ("org:acme", "acme/app", True),
        ("org:acme", "acme-evil/app", False),
        ("org:acme", "evil/acme", False),
        ("repo:acme/app", "acme/app", True),
        ("repo:acme/app", "acme/app2", False),
        ("repo:acme/app", "acme/other", False),
        ("", "anyone/anything", True),  # the local pool
    ],
)
def test_runner_scopes(scope: str, repo: str, ok: bool) -> None:
    assert covers(scope, repo) is ok


@pytest.mark.parametrize(
    ("name", "labels", "scope"),
    [
        ("local-1", ["self-hosted"], "org:acme"),
        ("box", ["self-hosted"], "*"),
        ("box", ["self-hosted"], "org:"),
        ("box", [], "org:acme"),
        ("box", ["a b"], "org:acme"),
        ("../x", ["self-hosted"], "org:acme"),
    ],
)
def test_registrations_that_are_refused(name: str, labels: list[str], scope: str) -> None:
    with pytest.raises(CIError):
        check_registration(name, labels, scope)


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "k" / "secret.key"
    key = load_key(path, {})
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_key(path, {}) == key
    box = SecretBox(key)
    sealed = box.seal("hunter2")
    assert b"hunter2" not in sealed and box.open(sealed) == "hunter2"


def test_key_from_environment_wins_and_wrong_key_is_reported(tmp_path: Path) -> None:
    given = Fernet.generate_key()
    assert load_key(tmp_path / "unused", {KEY_ENV: given.decode()}) == given
    assert not (tmp_path / "unused").exists()
    sealed = SecretBox(Fernet.generate_key()).seal("v")
    with pytest.raises(CIError, match="cannot be decrypted"):
        SecretBox(given).open(sealed)
    with pytest.raises(CIError, match="not a valid Fernet key"):
        SecretBox(b"short")


@pytest.mark.parametrize(
    ("name", "payload", "ref", "sha"),
    [
        ("push", {"ref": "refs/heads/main", "after": "b" * 40}, "refs/heads/main", "b" * 40),
        (
            "pull_request",
            {
                "number": 7,
                "pull_request": {"head": {"sha": "c" * 40, "ref": "f"}, "base": {"ref": "main"}},
            },
            "refs/pull/7/merge",
            "c" * 40,
        ),
        (
            "workflow_dispatch",
            {"ref": "refs/heads/main", "inputs": {"n": 1}},
            "refs/heads/main",
            "",
        ),
    ],
)
def test_github_events(name: str, payload: dict[str, object], ref: str, sha: str) -> None:
    event = github_event(name, {**payload, "repository": {"full_name": "o/r"}})
    assert event is not None
    assert (event.name, event.ref, event.sha, event.repository) == (name, ref, sha, "o/r")


def test_unknown_webhook_events_are_ignored() -> None:
    assert github_event("star", {}) is None


def test_the_queue_wake_up_set_from_a_worker_thread_wakes_the_loop() -> None:
    """Sync routes run in worker threads; a runner waiting in `poll` must hear them."""

    async def scenario() -> bool:
        wake = Wake()
        waiter = asyncio.ensure_future(wake.wait())
        await asyncio.sleep(0)  # the waiter is waiting on this loop
        threading.Thread(target=wake.set).start()
        done, _ = await asyncio.wait({waiter}, timeout=60)
        return waiter in done

    assert asyncio.run(scenario(), debug=True)  # debug: a set off the loop's thread raises
