"""Fixtures for actions/containers tests: real Podman, a real registry on 127.0.0.1.

`registry` starts Debian's `docker-registry` on a free loopback port with a temporary
storage directory (stopped at the end of the session); `busybox` builds the ~2 MB
FROM-scratch busybox base image. Both are skipped when the tools are missing.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator

import pytest

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image
from tests.gitutil import git
from tests.registry import running_registry
from tests.workflow.run.conftest import Repo, repo

__all__ = ["Repo", "git", "repo"]


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`127.0.0.1:<port>` of a running registry."""
    with running_registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


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
