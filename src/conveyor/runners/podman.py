"""Runs a job's processes inside ONE Podman container (container jobs, `--runner podman`).

Chosen by `conveyor.workflow.run.containers` for a job with `container:` or when the run uses
`--runner podman`; used by the engine through the `Runner` protocol. `start()` creates the
container once (`tail -f /dev/null` keeps it alive, as GitHub's runner does); every `exec`
is a `podman exec` into it (no copying of files per step: act copies and pays about 1.5 s a
step). The job's directories (first of `mounts`, read-write) and the other `mounts`
(read-only, e.g. the action store) are bind-mounted at the same paths inside the container,
so script files, env files, action paths and GITHUB_WORKSPACE mean the same on both sides.
`cleanup()` removes the container. The `podman exec` client runs through a `HostRunner`, which gives
streaming, timeouts and cancellation.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.clients.podman import Podman
from conveyor.runners.base import DEFAULT_PATH, ExecResult, OutputCallback, RunnerError
from conveyor.runners.host import HostRunner

#: Host variables that describe the host, not the container: never passed in.
_HOST_ONLY = frozenset({"HOME", "SHELL", "USER", "LOGNAME", "TMPDIR", "RUNNER_TRACKING_ID"})


class PodmanRunner:
    """One container per job; `start()` before the first `exec`, `cleanup()` at the end."""

    def __init__(
        self,
        podman: Podman,
        *,
        image: str,
        mounts: Sequence[Path],
        network: str | None = None,
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        host_path: str = "",
        name: str | None = None,
    ) -> None:
        self.podman = podman
        self.image = image
        self.mounts = tuple(mounts)
        self.network = network
        self.options = tuple(options)
        self.env = dict(env or {})
        self.host_path = host_path
        self.name = name or f"conveyor-job-{uuid.uuid4().hex[:12]}"
        self.container_id = ""
        self._host = HostRunner()
        self._has_bash: bool | None = None
        self._removed = False

    async def start(self) -> str:
        """Create and start the job container; returns its id.

        The container's first process notes whether `bash` exists (for the default shell)
        in a file of the mounted job directory, then becomes `tail -f /dev/null`: this
        spares a `podman exec` probe (about 0.3 s a job here).
        """
        marker = self.mounts[0] / f".shell-{self.name}" if self.mounts else None
        args = ["run", "-d", "--name", self.name, "--entrypoint", "sh"]
        if self.network:
            args += ["--network", self.network]
        for index, path in enumerate(self.mounts):  # the first is the job's (read-write)
            args += ["-v", f"{path}:{path}" + (":ro" if index else "")]
        if self.mounts:  # HOME is /github/home in container jobs, as on GitHub
            home = self.mounts[0] / "_github_home"
            home.mkdir(exist_ok=True)
            args += ["-v", f"{home}:/github/home"]
        for key, value in self.env.items():
            args += ["-e", f"{key}={value}"]
        probe = "exec tail -f /dev/null"
        if marker is not None:
            probe = (
                f"if command -v bash >/dev/null 2>&1; then echo bash > '{marker}'; "
                f"else echo sh > '{marker}'; fi; {probe}"
            )
        args += [*self.options, "--", self.image, "-c", probe]  # `--`: never a flag
        result = await self.podman.run(*args, check=False)
        if result.returncode != 0:
            raise RunnerError(
                f"cannot start the job container from '{self.image}': {result.stderr.strip()}"
            )
        self.container_id = result.stdout.strip()
        # the container outlives a killed runner unless its guardian removes it (issue 18)
        remove = self.podman.argv("rm", "-f", "-t", "0", "--", self.name)
        await self._host.guard_removal(remove, _podman_only(self.podman.env))
        self._has_bash = await self._shell(marker)
        return self.container_id

    async def _shell(self, marker: Path | None) -> bool:
        if marker is None:
            probe = await self.podman.run("exec", "--", self.name, "sh", "-c", "command -v bash")
            return probe.returncode == 0
        for _ in range(500):  # the container's first process writes it within milliseconds
            if marker.exists() and marker.stat().st_size:
                return marker.read_text().strip() == "bash"
            await asyncio.sleep(0.01)
        raise RunnerError(f"the job container from '{self.image}' did not start a shell (sh)")

    def _environment(self, env: Mapping[str, str]) -> dict[str, str]:
        return container_environment(
            env, host_path=self.host_path, home="/github/home" if self.mounts else ""
        )

    async def exec(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        timeout: float | None,
        on_output: OutputCallback,
    ) -> ExecResult:
        """`podman exec` argv in the job container, with exactly `env` (host-only variables
        dropped; the host's PATH tail replaced by the image's standard PATH)."""
        command = list(argv)
        if command[:2] == ["bash", "-e"] and not self._has_bash:
            command[0] = "sh"  # the default shell falls back to sh, as GitHub does
        args = ["exec", "-w", str(cwd)]
        for key, value in self._environment(env).items():
            args += ["-e", f"{key}={value}"]
        full = self.podman.argv(*args, "--", self.name, *command)
        return await self._host.exec(
            full, env=dict(self.podman.env), cwd=Path("/"), timeout=timeout, on_output=on_output
        )

    async def release(self) -> None:
        """End the `podman exec` clients still running; the caller removes the container."""
        await self._host.cleanup()
        self._removed = True

    async def cleanup(self) -> None:
        """Remove the job container (and whatever still runs in it), once."""
        await self._host.cleanup()
        if not self._removed:
            self._removed = True
            await self.podman.run("rm", "-f", "-t", "0", "--", self.name, check=False)


def _podman_only(env: Mapping[str, str]) -> dict[str, str]:
    """What `podman rm` needs of the environment (no job or runner secrets to the guardian)."""
    keep = ("PATH", "HOME", "XDG_RUNTIME_DIR", "TMPDIR", "CONTAINERS_", "STORAGE_", "REGISTRIES_")
    return {k: v for k, v in env.items() if k.startswith(keep)}


def container_environment(env: Mapping[str, str], *, host_path: str, home: str) -> dict[str, str]:
    """A step's environment as a job container gets it: the host-only variables dropped,
    the host's PATH tail (`host_path`) replaced by the image's standard PATH, and HOME set
    to `home` when given. Also used by `runners.sibling` (a Kubernetes pod's job container)."""
    out = {k: v for k, v in env.items() if k not in _HOST_ONLY}
    path = out.get("PATH", "")
    if host_path and path.endswith(host_path):
        out["PATH"] = path[: len(path) - len(host_path)] + DEFAULT_PATH
    elif not path:
        out["PATH"] = DEFAULT_PATH
    if home:
        out["HOME"] = home
    return out
