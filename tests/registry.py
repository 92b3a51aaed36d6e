"""A real OCI registry for tests: Debian's `docker-registry` on a free loopback port with
a temporary storage directory. Used by the `registry` fixtures of the container-action
tests and of the Helm OCI tests. `remove_images_of(address)` removes the Podman images a
test pulled or built under a registry's address (its port is the test's own), so that runs
do not fill a developer's image store; `running_registry` calls it when the registry stops."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conveyor.clients.podman import Podman


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_registry(root: Path) -> Iterator[str]:
    """`127.0.0.1:<port>` of a registry storing under `root`; skips when not installed."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed")
    port = free_port()
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
    try:
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        remove_images_of(address)


def remove_images_of(address: str) -> None:
    """Remove the local Podman images named `ADDRESS/...` (none when Podman is missing)."""
    if shutil.which("podman") is None:
        return
    env = dict(Podman().env)
    listed = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    names = [name for name in listed.stdout.split() if name.startswith(f"{address}/")]
    if names:
        subprocess.run(["podman", "rmi", "--", *names], capture_output=True, env=env, check=False)
