"""The web UI in process, shared by `tests/server/ui/conftest.py` and
`tests/browser/conftest.py` (both define their `ui` fixture with `serve_ui`): the server's
FastAPI app (a real store in a temporary data directory) served by uvicorn on 127.0.0.1 in
a thread, one httpx cookie jar per user."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from conveyor.server.auth import Role
from conveyor.server.main import ServerConfig, build
from conveyor.server.state import ServerState
from tests.server.conftest import free_port

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class SignedIn:
    """A browser-like client signed in as `name` with `role`."""

    client: httpx.Client
    name: str
    role: Role
    token: str
    csrf: str

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """A form POST carrying this session's CSRF token (not following redirects)."""
        return self.client.post(path, data={"csrf": self.csrf, **(data or {})})


@dataclass
class UI:
    app: FastAPI
    state: ServerState
    url: str
    clients: list[httpx.Client]

    def client(self) -> httpx.Client:
        """A fresh client (its own cookies) that does not follow redirects; closed at the
        end of the test."""
        client = httpx.Client(base_url=self.url, timeout=30)
        self.clients.append(client)
        return client

    def sign_in(self, role: Role | str, name: str = "") -> SignedIn:
        role = Role(role)
        name = name or f"{role}-user"
        token = self.state.auth.issue(name, role)
        client = self.client()
        form = client.get("/login")
        match = LOGIN_CSRF.search(form.text)
        assert match, form.text
        reply = client.post(
            "/login",
            data={"token": token, "csrf": match.group(1), "next": "/"},
            follow_redirects=False,
        )
        assert reply.status_code == 303, reply.text
        home = client.get("/login", follow_redirects=True)
        found = CSRF_META.search(home.text)
        assert found, home.text
        return SignedIn(client=client, name=name, role=role, token=token, csrf=found.group(1))


@contextmanager
def serve_ui(data_dir: Path) -> Iterator[UI]:
    """The app built on `data_dir`, served until the block ends (then clients, server and
    store are closed)."""
    app, state = build(ServerConfig(data_dir=data_dir))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the UI server did not start"
        time.sleep(0.02)
    here = UI(app=app, state=state, url=f"http://127.0.0.1:{port}", clients=[])
    try:
        yield here
    finally:
        for client in here.clients:
            client.close()
        server.should_exit = True
        thread.join(10)
        state.service.store.close()
