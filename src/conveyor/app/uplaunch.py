"""`conveyor up` as a child process, for the end-to-end test and the benchmark.

`UpProcess(state_dir, examples)` picks free ports for the server, registry and reconciler,
`start()`s `python -m conveyor.app up` and waits for its `platform.json`, `stop()`s it with
SIGTERM. `remove_workloads(state_dir)` removes what outlives `up` by design (the demo's
containers, namespace networks and the detached Service proxy, as a cluster outlives its
control plane), as `conveyor down` does. `demo_ports_busy()` names the demo's NodePorts
already taken.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

from conveyor.app import platform
from conveyor.app.api import wait_for
from conveyor.app.cmd_down import down_config, podman_targets
from conveyor.clients.podman import Podman
from conveyor.core.errors import ConveyorError
from conveyor.targets.podman.teardown import teardown


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def demo_ports_busy() -> list[int]:
    return [p for p in platform.DEMO_ENVIRONMENTS.values() if port_open(p)]


class UpProcess:
    def __init__(self, state: Path, examples: Path) -> None:
        self.state = state
        self.examples = examples
        self.ports = {"port": free_port(), "registry": free_port(), "reconciler": free_port()}
        self.proc: subprocess.Popen[str] | None = None
        self.log = state.parent / f"{state.name}.out"

    def start(self, timeout: float = 240.0) -> platform.PlatformInfo:
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / platform.FILE_NAME).unlink(missing_ok=True)
        argv = [
            sys.executable, "-m", "conveyor.app", "up", "--state-dir", str(self.state),
            "--examples", str(self.examples), "--port", str(self.ports["port"]),
            "--registry-port", str(self.ports["registry"]),
            "--reconciler-port", str(self.ports["reconciler"]),
        ]  # fmt: skip
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True)

        def ready() -> platform.PlatformInfo | None:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ConveyorError(f"conveyor up exited:\n{self.log.read_text()[-4000:]}")
            if not (self.state / platform.FILE_NAME).exists():
                return None
            return platform.load(self.state)

        return wait_for("conveyor up to be ready", ready, timeout=timeout, every=0.5)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def remove_workloads(state: Path) -> None:
    """What `conveyor down --state-dir STATE` removes (the e2e test's and bench's clean-up)."""
    for name, target_dir in podman_targets(down_config(state, None)):
        podman = Podman(state_dir=target_dir / "podman")
        asyncio.run(teardown(podman, name, target_dir, volumes=True))
