"""Finding 16: the reconciler daemon's endpoint bounds how long and how much a client sends.

Against a real `conveyor reconcile --listen` process: a client that trickles its request
head byte by byte is cut off at the read deadline, oversized heads are refused with 431,
and `/healthz` keeps answering while slow clients hold connections.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.reconcile.conftest import ConfigRepo, repo
from tests.reconcile.daemon import start_daemon

__all__ = ["repo"]  # the config-repo fixture of tests/reconcile

READ_TIMEOUT = 10.0  # reconcilerhttp.READ_TIMEOUT, as a literal: runs against old code too


@pytest.fixture
def daemon(repo: ConfigRepo, tmp_path: Path) -> Iterator[int]:
    proc, port, _state = start_daemon(repo, tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "loop.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT + 5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_client_trickling_its_headers_is_cut_off_and_healthz_still_answers(
    daemon: int,
) -> None:
    slow = [socket.create_connection(("127.0.0.1", daemon)) for _ in range(20)]
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 500
    started = time.monotonic()
    cut_at = None
    try:
        for i, byte in enumerate(head):
            for sock in slow:
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    cut_at = time.monotonic() - started
            if cut_at is not None:
                break
            if i % 10 == 0:  # the endpoint stays responsive meanwhile
                assert httpx.get(f"http://127.0.0.1:{daemon}/healthz", timeout=2).text == "ok\n"
            assert time.monotonic() - started < READ_TIMEOUT + 10, "never cut off"
            time.sleep(0.05)
        else:
            for sock in slow:
                sock.settimeout(READ_TIMEOUT + 5)
                sock.recv(100)  # the reply (408) or the close
            cut_at = time.monotonic() - started
    finally:
        for sock in slow:
            sock.close()
    assert cut_at is not None and cut_at < READ_TIMEOUT + 5


@pytest.mark.parametrize(
    "head",
    [
        b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(2000)) + b"\r\n",
        b"GET /healthz HTTP/1.1\r\n" + b"X-Huge: " + b"a" * 200_000 + b"\r\n\r\n",
    ],
    ids=["one-large-header", "many-headers", "header-beyond-the-line-limit"],
)
def test_huge_request_heads_are_refused_with_431(daemon: int, head: bytes) -> None:
    reply = _raw(daemon, head)
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:80]
    assert httpx.get(f"http://127.0.0.1:{daemon}/healthz").text == "ok\n"
