"""Issue 17's "done when", on real components: `conveyor up` seeds the demo's config repo
with its Secret encrypted with SOPS for the platform's age key; the reconciler decrypts it
at render time and every dev replica on real Podman gets the clear value as `GREETING`;
no file of the platform but the target's own object store (as etcd on a cluster) holds
the clear value: not the hosted Git repository, the render cache, the database or a log.

Uses the demo's fixed NodePorts 30081-30083 (a `conveyor up` of your own must not run).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.app.tour import Tour
from conveyor.app.uplaunch import UpProcess
from conveyor.clients.podman_host import write_config
from tests.e2e.demoup import demo_up
from tests.gitutil import git

GREETING = "Hello from a SOPS-encrypted Secret"  # examples/demo-config/base/greeting.sops.yaml
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    with demo_up(tmp_path) as runner:
        yield runner


def greetings(state: Path, namespace: str) -> list[str]:
    """`$GREETING` in every running container of `namespace` on the demo's Podman."""
    env = {**os.environ, **write_config(state / "podman")}

    def podman(*args: str) -> str:
        done = subprocess.run(
            ["podman", *args], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        return done.stdout

    label = f"label=conveyor.dev/namespace={namespace}"
    rows = json.loads(podman("ps", "--filter", label, "--format", "json") or "[]")
    shell = ("/bin/busybox", "sh", "-c", 'echo "$GREETING"')
    return [podman("exec", row["Id"], *shell).strip() for row in rows]


def test_the_demo_secret_reaches_the_containers_and_nowhere_else(up: UpProcess) -> None:
    info = up.start()
    tour = Tour(info, timeout=120)
    try:
        tour.wait_served("dev", "1.0.0")
    finally:
        tour.close()
    seen = greetings(up.state, "demo-dev")
    assert seen and set(seen) == {GREETING}
    key = up.state / "sops" / "age.key"
    assert key.stat().st_mode & 0o777 == 0o600
    hosted = git(up.state / "server/git/demo/config.git", "show", "main:base/greeting.sops.yaml")
    assert "ENC[AES256_GCM," in hosted and "sops:" in hosted
    forms = [GREETING.encode(), base64.b64encode(GREETING.encode())]
    files = [p for p in up.state.rglob("*") if p.is_file() and _not_the_target(p, up.state)]
    leaked = [str(p) for p in files if any(f in p.read_bytes() for f in forms)]
    assert leaked == []


def _not_the_target(path: Path, state: Path) -> bool:
    """The Podman target's object store (0700, files 0600) holds the Secret as a cluster's
    etcd does; every other file must not (the Git repositories, the render cache, the
    database, the logs, podman's own storage)."""
    return path.relative_to(state).parts[:2] != ("podman-target", "objects")
