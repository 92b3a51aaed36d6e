"""Process wiring: the local pool scales with the queue, pushes refresh the reconciler,
OpenAPI docs behind the token, ephemeral agents exit after one run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conveyor.server.main import ServerConfig, build
from tests.server.conftest import Server, make_server, push_workflows

TWO = """name: Two
on: push
jobs:
  one:
    runs-on: ubuntu-latest
    steps: [{run: sleep 2}]
  two:
    runs-on: ubuntu-latest
    steps: [{run: sleep 2}]
"""


def test_local_pool_scales_with_queue_depth(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "2")
    server.start()
    try:
        wf = {".github/workflows/a.yml": TWO.replace("Two", "A")}
        push_workflows(server, tmp_path, "acme/a", wf)
        push_workflows(server, tmp_path, "acme/b", {".github/workflows/b.yml": TWO})
        ids = [int(r["id"]) for r in server.runs("acme/a") + server.runs("acme/b")]
        deadline = time.monotonic() + 20
        both = False
        while time.monotonic() < deadline and not both:  # jobs are dispatched one by one
            runs = [server.api("GET", f"/api/v1/runs/{i}").json() for i in ids]
            running = [j for r in runs for j in r["jobs"] if j["status"] == "in_progress"]
            both = len(running) == 2
            time.sleep(0.1)
        assert both, "four queued jobs should run two at once on two local runners"
        for run_id in ids:
            assert server.wait_run(run_id)["conclusion"] == "success"
        names = {r["name"] for r in server.api("GET", "/api/v1/runners").json()}
        assert len(names) == 2 and all(n.startswith("local-") for n in names), names
    finally:
        server.stop()


class FakeReconciler:
    def __init__(self) -> None:
        self.triggered: list[str] = []

    def trigger_repo(self, url: str) -> None:
        self.triggered.append(url)


def test_push_to_hosted_repo_refreshes_the_reconciler(tmp_path: Path) -> None:
    fake = FakeReconciler()
    _, state = build(ServerConfig(data_dir=tmp_path, port=9999), reconciler=fake)
    service = state.service
    git_dir = service.create_repo("demo/config")
    sha = "0" * 40
    asyncio.run(
        service.handle_push(
            "demo/config", ref="refs/heads/main", before=sha, after=sha, pusher="me"
        )
    )
    assert fake.triggered == [
        "http://127.0.0.1:9999/git/demo/config.git",
        str(git_dir),
        f"file://{git_dir}",
    ]
    service.store.close()


def test_openapi_document_is_served_with_a_token(server: Server) -> None:
    spec = server.api("GET", "/openapi.json").json()
    assert "/api/v1/runs/{run_id}/approve" in spec["paths"]
    assert "/api/v1/repos/{owner}/{repo}/secrets/{name}" in spec["paths"]
    assert server.api("GET", "/docs").status_code == 200


def test_ephemeral_agent_exits_after_one_run(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        token = server.register_runner("e", "self-hosted")
        wf = "on: push\njobs:\n  j:\n    runs-on: [self-hosted]\n    steps: [{run: echo once}]\n"
        push_workflows(server, tmp_path, "acme/e", {".github/workflows/e.yml": wf})
        agent = subprocess.run(
            [
                sys.executable,
                "-m",
                "conveyor.ci.agent",
                "--server",
                server.url,
                "--labels",
                "self-hosted",
                "--ephemeral",
                "--work",
                str(tmp_path / "w"),
            ],
            capture_output=True,
            env={**os.environ, "CONVEYOR_TOKEN": token},
            timeout=60,
            check=False,
        )
        assert agent.returncode == 0
        assert server.wait_run(int(server.runs("acme/e")[0]["id"]))["conclusion"] == "success"
    finally:
        server.stop()


def test_push_tells_an_external_reconciler_to_refresh(tmp_path: Path) -> None:
    seen: list[str] = []
    tokens: list[str] = []
    token_file = tmp_path / "reconciler.token"
    token_file.write_text("tok-refresh-42\n")

    class Refresh(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            tokens.append(self.headers.get("Authorization", ""))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Refresh)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{listener.server_address[1]}/refresh"
    server = make_server(
        tmp_path, "--refresh-url", endpoint, "--refresh-token-file", str(token_file)
    )
    server.start()
    try:
        push_workflows(server, tmp_path, "demo/config", {"apps/app.yaml": "kind: x\n"})
        for _ in range(100):
            if seen:
                break
            time.sleep(0.05)
        wanted = f"/refresh?repo=http%3A%2F%2F127.0.0.1%3A{server.port}%2Fgit%2Fdemo%2Fconfig.git"
        assert wanted in seen
        assert set(tokens) == {"Bearer tok-refresh-42"}  # the reconciler's token, sent along
    finally:
        server.stop()
        listener.shutdown()
        listener.server_close()
