"""A SOPS-encrypted Secret in the config repo reaches a container on the real Podman target
as a plain environment value (issue 17): Git holds only ciphertext, the reconciler decrypts
at render time (identity from `SOPS_AGE_KEY_FILE`), the target keeps the Secret in its
0700 store as a cluster keeps it in etcd, and the container sees the value; the
reconciler's database and logs never hold it."""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyrage import x25519

from conveyor.clients.sops import agekeys, document, files
from conveyor.clients.sops.tree import Rules
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env as ReconcileEnv
from conveyor.store import Store
from conveyor.targets.podman import PodmanTarget
from conveyor.targets.podman.names import TARGET_LABEL
from tests.gitutil import git

from .conftest import WEB_IMAGE, Env
from .manifests import bare, deployment
from .reconciler_driver import application
from .test_reconciler_e2e import config_repo

GREETING = "hello-from-an-encrypted-secret"
ENV = {"name": "GREETING", "valueFrom": {"secretKeyRef": {"name": "greeting", "key": "text"}}}


def encrypted_secret(identity: Any) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "greeting"},
        "stringData": {"text": GREETING},
    }
    out = document.encrypt(
        doc,
        [agekeys.public_key(identity)],
        rules=Rules(encrypted_regex="^(data|stringData)$"),
        now=datetime.datetime.now(datetime.UTC),
    )
    return files.dump(out, as_json=False)


def commit(work: Path, identity: Any) -> None:
    web = bare(
        deployment("web", image=f"{WEB_IMAGE}:v1", replicas=1, extra_container={"env": [ENV]})
    )
    (work / "app").mkdir(exist_ok=True)
    (work / "app" / "web.yaml").write_text(yaml.safe_dump(web))
    (work / "app" / "greeting.sops.yaml").write_text(encrypted_secret(identity))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "web with an encrypted greeting")
    git(work, "push", "-q", "origin", "HEAD:main")


def test_an_encrypted_secret_reaches_the_container_env_only(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    identity = x25519.Identity.generate()
    keys = tmp_path / "age.key"
    keys.write_text(f"{identity}\n")
    keys.chmod(0o600)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(keys))
    origin, work = config_repo(tmp_path)
    commit(work, identity)
    assert GREETING not in (work / "app" / "greeting.sops.yaml").read_text()

    async def scenario() -> tuple[dict[str, Any], str]:
        target = PodmanTarget(name=env.name, state_dir=env.state_dir, podman=env.podman, tick=0.1)
        store = Store.open(tmp_path / "state.db")
        sources = Sources(tmp_path / "cache")
        renv = ReconcileEnv(targets={"local": target}, store=store, sources=sources)
        rec = Reconciler(parse_applications(application(str(origin)), "apps.yaml"), renv)
        stop = asyncio.Event()
        runner = asyncio.create_task(Loop(rec).run(interval=0.3, stop=stop))
        try:
            status = await healthy(rec)
            label = f"label={TARGET_LABEL}={env.name}"
            ids = (await env.podman.run("ps", "-q", "--filter", label)).stdout.split()
            assert ids, "no container runs"
            shell = ("/bin/busybox", "sh", "-c", 'echo "$GREETING"')
            seen = await env.podman.run("exec", ids[0], *shell)
            return status, seen.stdout.strip()
        finally:
            stop.set()
            await runner
            await target.aclose()
            store.close()

    status, seen = asyncio.run(scenario())
    assert seen == GREETING
    forms = [GREETING, base64.b64encode(GREETING.encode()).decode()]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert stored and not [f for f in forms if f.encode() in stored]
    assert not [f for f in forms if f in caplog.text or f in str(status)]


async def healthy(rec: Reconciler, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = rec.status("web") if "web" in rec.apps else {}
        sync = status.get("sync", {}).get("status")
        if sync == "Synced" and status.get("health", {}).get("status") == "Healthy":
            return status
        await asyncio.sleep(0.2)
    raise AssertionError(f"never Synced and Healthy: {status.get('conditions')}")
