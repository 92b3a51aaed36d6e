"""A real `conveyor server` process on 127.0.0.1 with a temporary data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gitutil import commit, git, init


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    data: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data / "server.log"

    def start(self) -> None:
        env = {**os.environ, "CONVEYOR_WEBHOOK_SECRET": "hook-secret"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "conveyor.server.main",
                    "--data",
                    str(self.data),
                    "--port",
                    str(self.port),
                    *self.extra,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(self.log.read_text())

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None

    @property
    def admin(self) -> str:
        return (self.data / "admin-token").read_text().strip()

    def api(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kw)

    def wait_run(
        self, run_id: int, *, status: str = "completed", timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.api("GET", f"/api/v1/runs/{run_id}").json()
            if run["status"] == status:
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} never reached {status}: {run}")

    def register_runner(self, name: str, labels: str, scope: str = "org:acme") -> str:
        """Register a remote runner (admin); its credential."""
        body = {"name": name, "labels": labels.split(","), "scope": scope}
        reply = self.api("POST", "/api/v1/runners", json=body)
        reply.raise_for_status()
        return str(reply.json()["token"])

    def runs(self, repo: str) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/v1/runs", params={"repo": repo}).json())

    def wait_runs(self, repo: str, count: int) -> list[dict[str, object]]:
        """`repo`'s runs once there are at least `count` (10 s at most)."""
        for _ in range(100):
            runs = self.runs(repo)
            if len(runs) >= count:
                return runs
            time.sleep(0.1)
        raise AssertionError(f"expected {count} runs, got {self.runs(repo)}")


def make_server(tmp_path: Path, *extra: str) -> Server:
    server = Server(data=tmp_path / "server", port=free_port(), extra=extra)
    server.data.mkdir(parents=True, exist_ok=True)
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path, "--heartbeat-timeout", "3")
    srv.start()
    yield srv
    srv.stop()


def push_workflows(
    server: Server, tmp: Path, repo: str, files: dict[str, str], *, branch: str = "main"
) -> str:
    """Create (if needed) the hosted repo, commit `files` and push over HTTP; the new SHA."""
    server.api("POST", "/api/v1/repos", json={"name": repo}).raise_for_status()
    work = tmp / ("work-" + repo.replace("/", "-"))
    if not work.exists():
        work.mkdir()
        init(work, branch=branch)
        git(work, "remote", "add", "origin", f"{server.url}/git/{repo}.git")
    commit(work, "change", files)
    git(
        work,
        "-c",
        f"http.extraHeader=Authorization: Bearer {server.admin}",
        "push",
        "-q",
        "origin",
        f"HEAD:refs/heads/{branch}",
    )
    return git(work, "rev-parse", "HEAD")
