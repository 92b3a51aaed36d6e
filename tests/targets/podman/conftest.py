"""Fixtures for the Podman target's tests: real podman, tiny busybox images, clean-up by label.

Every resource a test creates carries the test target's `conveyor.dev/target` label and is
removed by that label afterwards, whatever the test did.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image
from conveyor.targets.podman import PodmanTarget
from conveyor.targets.podman.names import TARGET_LABEL
from conveyor.targets.podman.routing import ProxyHandle

WEB_IMAGE = "localhost/conveyor-test/web"
_CONTAINERFILE = """\
FROM {base}
RUN mkdir -p /www && echo {version} > /www/index.html
STOPSIGNAL SIGKILL
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


async def build_web_images(podman: Podman, versions: tuple[str, ...] = ("v1", "v2")) -> None:
    """`WEB_IMAGE:<v>` for each version: busybox httpd serving `<v>` at `/`."""
    base = await ensure_busybox_image(podman)
    for version in versions:
        tag = f"{WEB_IMAGE}:{version}"
        if (await podman.run("image", "exists", tag, check=False)).returncode == 0:
            continue
        with tempfile.TemporaryDirectory(prefix="conveyor-web-") as tmp:
            (Path(tmp) / "Containerfile").write_text(
                _CONTAINERFILE.format(base=base, version=version)
            )
            await podman.run("build", "-q", "-t", tag, tmp)


async def remove_by_label(podman: Podman, target: str) -> None:
    """Every container, network and volume labelled with `target`, in a few passes (a
    container still being created when the test ended may appear a moment later)."""
    label = f"label={TARGET_LABEL}={target}"
    for attempt in range(3):
        ids = (await podman.run("ps", "-aq", "--filter", label, check=False)).stdout.split()
        if ids:
            await podman.run("rm", "-f", "-t", "0", "--depend", *ids, check=False)
        left = 0
        for kind in ("network", "volume"):
            rows = await podman.run(kind, "ls", "-q", "--filter", label, check=False)
            for name in rows.stdout.split():
                done = await podman.run(kind, "rm", name, check=False)  # no -f: never others'
                left += done.returncode != 0
        if not left:
            return
        await asyncio.sleep(0.5 * (attempt + 1))


async def image_created(env: Env, image: str, timeout: float = 30.0) -> None:
    """Wait until one of the target's containers (any state) runs `image`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = await env.podman.run(
            "ps", "-a", "--filter", f"label={TARGET_LABEL}={env.name}", "--format", "{{.Image}}"
        )
        if image in out.stdout.split():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no replica of {image} was created within {timeout:.0f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def podman_state() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="conveyor-podman-tests-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def podman(podman_state: Path) -> Podman:
    client = Podman(state_dir=podman_state / "podman")
    asyncio.run(build_web_images(client))
    return client


@dataclass(frozen=True, slots=True, kw_only=True)
class Env:
    """One test's target identity; `make()` opens a target on it (again after a "crash")."""

    name: str
    state_dir: Path
    podman: Podman

    def make(self, tick: float = 0.1) -> PodmanTarget:
        return PodmanTarget(name=self.name, state_dir=self.state_dir, podman=self.podman, tick=tick)


@pytest.fixture
def env(tmp_path: Path, podman: Podman) -> Iterator[Env]:
    made = Env(name=f"t-{uuid.uuid4().hex[:8]}", state_dir=tmp_path / "state", podman=podman)
    try:
        yield made
    finally:
        for pid_file in made.state_dir.glob("**/proxy/pid"):  # every proxy this test started
            ProxyHandle(pid_file.parent).stop()
        asyncio.run(remove_by_label(podman, made.name))
