"""Async adapter over the `podman` CLI, configured for this host.

Every call runs podman with Conveyor's own containers.conf and registries.conf
(`conveyor.clients.podman_host`), so nothing in the system's configuration is edited.
Callers: the podman runner (`conveyor.runners`), container actions and services
(`conveyor.workflow.run.actions`), the podman target (`conveyor.targets.podman`) and
`conveyor up`. Failures map to `PodmanError` (the command ran and failed) or
`PodmanUnavailable` (podman is missing or cannot start containers here).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.clients.errors import PodmanError, PodmanUnavailable
from conveyor.clients.podman_host import write_config


def default_state_dir() -> Path:
    """`$CONVEYOR_HOME/podman`, or `~/.conveyor/podman`."""
    home = os.environ.get("CONVEYOR_HOME")
    return (Path(home) if home else Path.home() / ".conveyor") / "podman"


@dataclass(frozen=True, slots=True, kw_only=True)
class PodmanResult:
    returncode: int
    stdout: str
    stderr: str


class Podman:
    """One configured podman: `run()` for a command, `json()` for `--format json` output."""

    def __init__(
        self,
        *,
        state_dir: Path | None = None,
        insecure_registries: Sequence[str] = (),
        binary: str = "podman",
    ) -> None:
        self.binary = binary
        self.state_dir = state_dir or default_state_dir()
        config = write_config(self.state_dir, insecure_registries=insecure_registries)
        self.env: Mapping[str, str] = {**os.environ, **config}

    def argv(self, *args: str) -> list[str]:
        """The full command line, for callers that stream output through a runner."""
        return [self.binary, *args]

    async def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> PodmanResult:
        """Run `podman ARGS`; raise `PodmanError` on a non-zero exit when `check`."""
        if shutil.which(self.binary) is None:
            raise PodmanUnavailable(
                f"{self.binary} is not installed; run `make install` (installs podman as root)"
            )
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            *args,
            env=dict(self.env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
        except (TimeoutError, asyncio.CancelledError):
            # Kill the whole group (podman may have left children holding its pipes), then
            # drain, so no transport is left open; the process may already have exited.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.communicate()
            raise
        result = PodmanResult(
            returncode=proc.returncode or 0,
            stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace"),
        )
        if check and result.returncode != 0:
            raise PodmanError(self.argv(*args), result.returncode, result.stderr)
        return result

    async def json(self, *args: str) -> Any:
        """Run a command whose stdout is JSON (e.g. `inspect`, `ps --format json`)."""
        result = await self.run(*args)
        text = result.stdout.strip()
        return json.loads(text) if text else None

    async def ensure_available(self) -> str:
        """Check that podman runs here; returns its version or raises `PodmanUnavailable`."""
        try:
            info = await self.json("version", "--format", "json")
        except PodmanError as exc:
            raise PodmanUnavailable(f"podman cannot run on this host: {exc}") from exc
        version = (info or {}).get("Client", {}).get("Version", "")
        return str(version)
