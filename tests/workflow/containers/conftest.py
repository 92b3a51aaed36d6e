"""Fixtures for actions/containers tests: real Podman, a real registry on 127.0.0.1.

`registry` starts Debian's `docker-registry` on a free loopback port with a temporary
storage directory (stopped at the end of the session); `busybox` builds the ~2 MB
FROM-scratch busybox base image. Both are skipped when the tools are missing.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image
from tests.gitutil import git
from tests.workflow.run.conftest import Repo, repo

__all__ = ["Repo", "git", "repo"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`127.0.0.1:<port>` of a running registry."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed")
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield address
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def busybox() -> str:
    """The busybox base image's tag (built once)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")

    return asyncio.run(ensure_busybox_image(Podman()))


HTTPD_IMAGE = "localhost/conveyor-test/httpd:1"


@pytest.fixture(scope="session")
def httpd_image(busybox: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A busybox image whose command serves /var/www (index.html = hello-from-service)."""
    context = tmp_path_factory.mktemp("httpd")
    (context / "Containerfile").write_text(
        f"FROM {busybox}\n"
        "RUN mkdir -p /var/www && echo hello-from-service > /var/www/index.html\n"
        'CMD ["httpd", "-f", "-p", "80", "-h", "/var/www"]\n'
    )

    asyncio.run(Podman().run("build", "-q", "-t", HTTPD_IMAGE, str(context)))
    return HTTPD_IMAGE
