"""The server, reconciler and runner pods of the rendered chart, started as local processes
(podlocal: their args, env from Secret data, mounts as folders; no container, no kubelet, not
as uid 10001), against a throwaway PostgreSQL with one database per store as the README
advises: the commands and configuration the manifests give Conveyor start it, answer the
probes' requests, reach the configured stores, and connect to each other: the runner to the
server over TLS, the server to the reconciler's Service with the token of the Secret both
mount (the UI's application page shows the app's state from the reconciler).

The Application deploys to the memory target (the `kubernetes` target is another part of
issue 16); everything else is what the chart renders."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.deploy.podlocal import LocalPod, find, prepare
from tests.deploy.rendering import render_chart
from tests.pg import Cluster
from tests.reconcile.conftest import config_repo
from tests.security.test_tls import self_signed
from tests.server.conftest import free_port
from tests.server.ui.uiserver import LOGIN_CSRF

APP = """apiVersion: conveyor.dev/v1alpha1
kind: Application
metadata: {name: settings}
spec:
  source: {repoURL: ORIGIN, path: app, targetRevision: main}
  destination: {name: in-cluster, namespace: default}
  syncPolicy: {automated: {prune: true}}
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: cluster}\n"


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(
    probe: dict[str, Any], port: int, ca: Path | None, log: Path, proc: subprocess.Popen[bytes]
) -> None:
    """Poll the probe's httpGet on 127.0.0.1 (60 s at most) until it answers 200."""
    check = probe["httpGet"]
    scheme = check.get("scheme", "HTTP").lower()
    url = f"{scheme}://127.0.0.1:{port}{check['path']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, verify=trust(ca), timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered 200:\n{log.read_text()[-3000:]}")


def trust(ca: Path | None) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=str(ca)) if ca else True


def container(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return find(items, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def test_the_rendered_pods_start_conveyor_on_postgresql_over_tls(
    tmp_path: Path, pg_cluster: Cluster, processes: list[subprocess.Popen[bytes]]
) -> None:
    repo = config_repo(tmp_path)
    repo.write("apps/settings.yaml", APP.replace("ORIGIN", repo.origin.as_uri()))
    repo.write("app/settings.yaml", CONFIGMAP)
    repo.commit()
    server_port, reconciler_port = free_port(), free_port()
    items = render_chart(
        {
            "server": {"port": server_port, "publicUrl": f"https://127.0.0.1:{server_port}"},
            "reconciler": {
                "apps": repo.origin.as_uri(),
                "listenPort": reconciler_port,
                "interval": "1s",
                "config": {"targets": [{"name": "in-cluster", "type": "memory"}]},
            },
        }
    )
    cert, key = self_signed(tmp_path)
    server_db = pg_cluster.url(pg_cluster.create_database("server"))
    state_db = pg_cluster.url(pg_cluster.create_database("state"))
    secrets = {
        "conveyor-database": {"server": server_db, "reconciler": state_db},
        "conveyor-tls": {
            "tls.crt": cert.read_text(),
            "tls.key": key.read_text(),
            "ca.crt": cert.read_text(),
        },
        "conveyor-runner-token": {"token": ""},
        "conveyor-reconciler-token": {"token": "token-of-the-reconciler-secret"},
    }
    base = {"PATH": os.environ["PATH"], "CONVEYOR_WARM": "0"}

    def pod(name: str) -> LocalPod:
        return prepare(items, name, secrets=secrets, root=tmp_path / name, base_env=base)

    server = pod("conveyor-server")
    processes.append(server.start(tmp_path / "server.log"))
    probe = container(items, "conveyor-server")["readinessProbe"]
    wait_for(probe, server_port, cert, tmp_path / "server.log", processes[-1])
    assert "ci_runs" in inspect_tables(server_db)  # the CI store went to its database

    reconciler = pod("conveyor-reconciler")
    processes.append(reconciler.start(tmp_path / "reconciler.log"))
    probe = container(items, "conveyor-reconciler")["readinessProbe"]
    wait_for(probe, reconciler_port, None, tmp_path / "reconciler.log", processes[-1])
    token = secrets["conveyor-reconciler-token"]["token"]
    status = wait_synced(reconciler_port, token, tmp_path / "reconciler.log")
    assert status["health"]["status"] == "Healthy"
    assert "reconcile_apps" in inspect_tables(state_db)  # the state store went to the other one

    admin = (server.mounts["/var/lib/conveyor/server"] / "admin-token").read_text().strip()
    body = {"name": "pod-1", "labels": ["self-hosted", "linux"], "scope": "org:acme"}
    with httpx.Client(
        base_url=f"https://127.0.0.1:{server_port}",
        headers={"Authorization": f"Bearer {admin}"},
        verify=trust(cert),
    ) as api:
        page = ui_page(f"https://127.0.0.1:{server_port}", admin, cert, "/apps/settings")
        assert "Synced" in page and "Healthy" in page, page
        assert "no reconciler" not in page
        registered = api.post("/api/v1/runners", json=body).json()
        secrets["conveyor-runner-token"]["token"] = registered["token"]
        processes.append(pod("conveyor-runner").start(tmp_path / "runner.log"))
        assert wait_online(api, "pod-1", tmp_path / "runner.log")


def ui_page(url: str, token: str, ca: Path, path: str) -> str:
    """`path` of the web UI, signed in with `token` (the login form's CSRF nonce first)."""
    with httpx.Client(base_url=url, verify=trust(ca), timeout=30) as client:
        form = client.get("/login")
        match = LOGIN_CSRF.search(form.text)
        assert match, form.text
        client.post("/login", data={"token": token, "csrf": match.group(1), "next": "/"})
        reply = client.get(path)
        assert reply.status_code == 200, reply.text
        return reply.text


def inspect_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select tablename from pg_tables where schemaname='public'"))
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def wait_synced(port: int, token: str, log: Path) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 60
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"http://127.0.0.1:{port}/apps", headers=headers).json()
        if status.get("settings", {}).get("sync", {}).get("status") == "Synced":
            return dict(status["settings"])
        time.sleep(0.2)
    raise AssertionError(f"not synced: {status}\n{log.read_text()[-3000:]}")


def wait_online(api: httpx.Client, name: str, log: Path) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runners = {r["name"]: r for r in api.get("/api/v1/runners").json()}
        if runners.get(name, {}).get("status") == "online":
            return True
        time.sleep(0.2)
    raise AssertionError(f"runner {name} never came online:\n{log.read_text()[-3000:]}")
