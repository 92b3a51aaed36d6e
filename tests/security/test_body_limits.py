"""Finding 6: bodies are not read before authentication, and are capped per route class.

The attack: large POSTs without a token (and, with a token, above the cap; declared,
chunked, and with a Content-Length that lies) against a real server. The server's peak RSS
(VmHWM) must stay within 50 MB of its value before, and `/healthz` must keep answering.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.security.flood import post, rss
from tests.server.conftest import Server, make_server

MB = 1024 * 1024


def _pid(server: Server) -> int:
    assert server.proc is not None
    return server.proc.pid


def test_unauthenticated_large_posts_are_refused_before_their_body_is_read(
    server: Server,
) -> None:
    _, peak_before = rss(_pid(server))
    for path, chunked in [
        ("/api/v1/repos", False),
        ("/api/v1/runner/poll", True),
        ("/api/v1/runner/runs/1/artifacts/a?runner=r", False),
        ("/git/acme/app.git/git-receive-pack", True),
        ("/hooks/github", False),
    ]:
        answer = post(server.port, path, 120 * MB, chunked=chunked)
        assert answer.status == 401, (path, answer)
        assert answer.sent < 60 * MB, (path, answer.sent)
    _, peak_after = rss(_pid(server))
    assert peak_after - peak_before < 50 * MB, (peak_before, peak_after)
    assert httpx.get(f"{server.url}/healthz", timeout=5).text == "ok\n"


def test_authenticated_bodies_above_the_cap_get_413_with_a_message(tmp_path: Path) -> None:
    srv = make_server(tmp_path, "--body-limit", "api=64K", "--body-limit", "artifacts=1M")
    srv.start()
    try:
        auth = {"Authorization": f"Bearer {srv.admin}"}
        _, peak_before = rss(_pid(srv))
        declared = post(srv.port, "/api/v1/repos", 10 * MB, headers=auth)
        assert declared.status == 413, declared
        assert "api" in declared.text and "--body-limit" in declared.text
        # chunked: no Content-Length to check, the server counts what arrives
        chunked = post(srv.port, "/api/v1/repos", 10 * MB, headers=auth, chunked=True)
        assert chunked.status == 413 and "65536 bytes" in chunked.text, chunked
        runner = {"Authorization": f"Bearer {srv.register_runner('r', 'self-hosted')}"}
        upload = post(
            srv.port,
            "/api/v1/runner/runs/1/artifacts/a?runner=r",
            4 * MB,
            headers=runner,  # the runner protocol takes only runner credentials
            chunked=True,
        )
        assert upload.status == 413, upload
        small = httpx.post(
            f"{srv.url}/api/v1/repos", json={"name": "acme/app"}, headers=auth, timeout=10
        )
        assert small.status_code == 200, small.text
        _, peak_after = rss(_pid(srv))
        assert peak_after - peak_before < 50 * MB
    finally:
        srv.stop()


def test_a_bounded_flood_of_unauthenticated_posts_leaves_memory_and_healthz_alone(
    server: Server,
) -> None:
    """The load check of issue 12, scaled down (bench/body_flood.py runs 200 x 200 MB)."""
    _, peak_before = rss(_pid(server))
    slowest = 0.0
    for i in range(20):
        answer = post(server.port, "/api/v1/repos", 200 * MB, chunked=bool(i % 2))
        assert answer.status == 401
        start = time.monotonic()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        slowest = max(slowest, time.monotonic() - start)
    _, peak_after = rss(_pid(server))
    assert peak_after - peak_before < 50 * MB, (peak_before, peak_after)
    assert slowest < 1.0


def test_webhook_bodies_with_made_up_signatures_are_never_held_in_memory(
    server: Server,
) -> None:
    """A webhook's HMAC needs its body, so anyone can make the server read one up to the
    webhook cap (25 MiB): 8 at a time, chunked, the server's memory must not follow."""
    _, peak_before = rss(_pid(server))
    fake = {"X-Hub-Signature-256": "sha256=" + "0" * 64}

    def one(i: int) -> int:
        path = "/hooks/github" if i % 2 else "/hooks/github/acme/app"
        return post(server.port, path, 60 * MB, chunked=True, headers=fake).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = set(pool.map(one, range(16)))
    assert statuses == {413}, statuses
    _, peak_after = rss(_pid(server))
    assert peak_after - peak_before < 50 * MB, (peak_before, peak_after)
    assert httpx.get(f"{server.url}/healthz", timeout=5).text == "ok\n"
