"""Fixtures for the runners' tests: `sibling_box`, a real Podman container from the busybox
base image running the executor loop of `runners.sibling_protocol`, as a Kubernetes runner
pod's job container runs it (skipped when podman is missing)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.clients.podman import Podman
from conveyor.clients.podman_images import ensure_busybox_image
from conveyor.runners.sibling_protocol import loop_command


@pytest.fixture(scope="session")
def busybox() -> str:
    """The busybox base image's tag (built once)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    return asyncio.run(ensure_busybox_image(Podman()))


@dataclass(frozen=True, slots=True)
class SiblingBox:
    """A job container running the executor loop: `work` and `control` are bind-mounted at
    the same paths inside it (a pod's emptyDirs, mounted in both of its containers)."""

    name: str
    work: Path
    control: Path

    def state(self) -> str:
        """`running`, `exited` … (`gone` once removed)."""
        done = asyncio.run(
            Podman().run("inspect", "--format", "{{.State.Status}}", "--", self.name, check=False)
        )
        return done.stdout.strip() if done.returncode == 0 else "gone"


def start_box(image: str, tmp_path: Path, *, hostname: str = "jobbox") -> SiblingBox:
    """Start the loop in a container of `image` (the caller removes it: `remove_box`)."""
    box = SiblingBox(
        name=f"conveyor-test-sibling-{uuid.uuid4().hex[:8]}",
        work=tmp_path / "work",
        control=tmp_path / "control",
    )
    home = tmp_path / "home"
    for path in (box.work, box.control, home):
        path.mkdir(exist_ok=True)
    args = ["run", "-d", "--name", box.name, "--hostname", hostname]
    for path in (box.work, box.control):
        args += ["-v", f"{path}:{path}"]
    args += ["-v", f"{home}:/github/home", "--", image, *loop_command(box.control)]
    asyncio.run(Podman().run(*args))
    return box


def remove_box(box: SiblingBox) -> None:
    asyncio.run(Podman().run("rm", "-f", "-t", "0", "--", box.name, check=False))


@pytest.fixture
def sibling_box(busybox: str, tmp_path: Path) -> Iterator[SiblingBox]:
    box = start_box(busybox, tmp_path)
    try:
        yield box
    finally:
        remove_box(box)
