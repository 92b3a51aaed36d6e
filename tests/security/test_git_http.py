"""Finding 12: a read token cannot reach git's receive-pack through an encoded query.

git decodes the query string itself, so `service=git%2Dreceive-pack` is a push service to
git; the server must see it as one (and hand git the service it checked), and git gets
`REMOTE_USER`, which turns receive-pack on, only for a writer.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server.conftest import Server, push_workflows

PUSH_ADVERT = "application/x-git-receive-pack-advertisement"


def _read_token(server: Server) -> str:
    made = server.api("POST", "/api/v1/tokens", json={"name": "viewer", "role": "read"})
    made.raise_for_status()
    return str(made.json()["token"])


@pytest.mark.parametrize(
    "query",
    [
        "service=git%2Dreceive-pack",
        "service=%67it-receive-pack",
        "service=git-upload-pack&service=git-receive-pack",
        "service=git-receive-pack%00",
    ],
)
def test_read_token_cannot_list_refs_for_push_through_an_encoded_service(
    server: Server, tmp_path: Path, query: str
) -> None:
    push_workflows(server, tmp_path, "acme/app", {"README": "x\n"})
    token = _read_token(server)
    reply = httpx.get(
        f"{server.url}/git/acme/app.git/info/refs?{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code in (400, 403), reply.status_code
    assert PUSH_ADVERT not in reply.headers.get("content-type", "")


def test_read_token_still_fetches_and_write_token_still_pushes(
    server: Server, tmp_path: Path
) -> None:
    sha = push_workflows(server, tmp_path, "acme/app", {"README": "x\n"})
    token = _read_token(server)
    reply = httpx.get(
        f"{server.url}/git/acme/app.git/info/refs?service=git%2Dupload-pack",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200
    assert sha.encode() in reply.content
    again = push_workflows(server, tmp_path, "acme/app", {"README": "y\n"})
    assert again != sha


def test_dot_dot_owner_is_not_a_repository(server: Server) -> None:
    reply = httpx.get(
        f"{server.url}/git/%2E%2E/app.git/info/refs?service=git-upload-pack",
        headers={"Authorization": f"Bearer {server.admin}"},
    )
    assert reply.status_code == 404
