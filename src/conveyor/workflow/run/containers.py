"""A job's containers: the job container (`container:`, `--runner podman`) and `services:`.

Called by `job.py` when a leg starts (`JobContainers.start`) and always when it ends, also
on failure, timeout or Ctrl-C (`JobContainers.stop`). One Podman network per job with
services; each service joins it with its key as network alias (a container job reaches
`redis:6379`); ports
listed under `ports:` are published on the host (a host job reaches `localhost:<mapped>`,
read from `job.services.<id>.ports`). Health-check options (`--health-cmd`,
`--health-interval`, `--health-retries`, `--health-timeout`, `--health-start-period`) are
honoured: steps start only once every service with a health check is healthy; an unhealthy
service fails the job. Podman runs health checks from systemd timers, which this host may
not have, so the checks are run here with `podman healthcheck run`. A service's
`entrypoint:` replaces the image's ENTRYPOINT and its `command:` gives the arguments after the
image (split as GitHub's runner splits them: `argv.py`).
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from conveyor.clients.podman import Podman
from conveyor.core.errors import ConveyorError
from conveyor.runners.podman import PodmanRunner
from conveyor.workflow.expr import Value
from conveyor.workflow.plan.containers import ContainerSpec
from conveyor.workflow.run.argv import split_arguments

_PODMAN: list[Podman] = []
LABEL = "io.conveyor.job-dir"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def podman() -> Podman:
    """The run's Podman client (one per process)."""
    if not _PODMAN:
        _PODMAN.append(Podman())
    return _PODMAN[0]


def seconds(text: str, default: float) -> float:
    """A Docker duration (`10s`, `1m30s`, `500ms`) in seconds."""
    total, found = 0.0, False
    for number, unit in _DURATION.findall(text or ""):
        found = True
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total if found else default


class JobContainers:
    """Everything Podman runs for one job leg."""

    def __init__(
        self,
        *,
        container: ContainerSpec | None,
        services: Mapping[str, ContainerSpec],
        image: str | None,
        mounts: tuple[Path, ...],
    ) -> None:
        self.container = container  # the job container's evaluated `container:` (if any)
        self.service_specs = services  # evaluated `services:`
        self.image = image  # the job container's image (None: steps run on the host)
        self.mounts = mounts
        self.tag = uuid.uuid4().hex[:10]
        self.network: str | None = None
        self.services: dict[str, str] = {}  # key -> container name
        self.runner: PodmanRunner | None = None

    async def start(self, *, host_path: str) -> dict[str, Value]:
        """Create the network, start the services (healthy), start the job container;
        returns the `job` context's `container` and `services` entries."""
        pm = podman()
        context: dict[str, Value] = {}
        if self.service_specs:  # a container job alone needs no network of its own
            self.network = f"conveyor-{self.tag}"
            await pm.run("network", "create", "--", self.network)
        services: dict[str, Value] = {}
        for key, spec in self.service_specs.items():
            services[key] = await self._service(pm, key, spec)
        if services:
            context["services"] = services
        for key, spec in self.service_specs.items():
            await self._healthy(pm, key, spec)
        if self.image is not None:
            job_spec = self.container
            options: list[str] = []
            env: dict[str, str] = {}
            if job_spec is not None:
                options = shlex.split(job_spec.options)
                options += [a for v in job_spec.volumes for a in ("-v", v)]
                options += [a for v in job_spec.ports for a in ("-p", v)]
                env = dict(job_spec.env)
            credentials = None
            if job_spec is not None and job_spec.credentials:
                credentials = dict(job_spec.credentials)
            await ensure_image(pm, self.image, credentials=credentials, authfile=self._authfile())
            self.runner = PodmanRunner(
                pm,
                image=self.image,
                mounts=self.mounts,
                network=self.network,
                options=[*self._label(), *options],
                env=env,
                host_path=host_path,
                name=f"conveyor-{self.tag}-job",
            )
            container_id = await self.runner.start()
            context["container"] = {"id": container_id, "network": self.network or ""}
        return context

    async def _service(self, pm: Podman, key: str, spec: ContainerSpec) -> dict[str, Value]:
        image = spec.image
        if not image:  # GitHub skips a service whose image evaluates to empty
            return {}
        credentials = dict(spec.credentials) if spec.credentials else None
        await ensure_image(pm, image, credentials=credentials, authfile=self._authfile())
        name = f"conveyor-{self.tag}-{key}"
        args = ["run", "-d", "--name", name, "--network", self.network or "bridge", *self._label()]
        args += ["--network-alias", key]
        for k, v in spec.env.items():
            args += ["-e", f"{k}={v}"]
        for port in spec.ports:
            args += ["-p", port]
        for volume in spec.volumes:
            args += ["-v", volume]
        args += shlex.split(spec.options)
        if spec.entrypoint:  # one program, as Docker's `--entrypoint` (JSON: Podman's array)
            args += ["--entrypoint", json.dumps([spec.entrypoint])]
        command = split_arguments(spec.command)  # as GitHub's runner passes them on
        result = await pm.run(*args, "--", image, *command, check=False)  # `--`: no flag
        if result.returncode != 0:
            raise ConveyorError(
                f"service '{key}' ({image}) failed to start: {result.stderr.strip()}"
            )
        self.services[key] = name
        ports: dict[str, Value] = {}
        if spec.ports:
            listed = await pm.run("port", "--", name, check=False)
            for line in listed.stdout.splitlines():  # 80/tcp -> 0.0.0.0:41234
                inner, _, outer = line.partition(" -> ")
                ports[inner.split("/")[0].strip()] = outer.rsplit(":", 1)[-1].strip()
        return {"id": result.stdout.strip(), "network": self.network or "", "ports": ports}

    def _label(self) -> list[str]:
        """Every container of the job carries its job directory (`podman ps --filter`)."""
        return ["--label", f"{LABEL}={self.mounts[0]}"] if self.mounts else []

    def _authfile(self) -> str:
        return str(self.mounts[0] / "registry-auth.json") if self.mounts else ""

    async def _healthy(self, pm: Podman, key: str, spec: ContainerSpec) -> None:
        options = shlex.split(spec.options)
        if key not in self.services or not any(o.startswith("--health-cmd") for o in options):
            return
        flags = _flags(options)
        interval = seconds(flags.get("--health-interval", ""), 30.0)
        retries = int(flags.get("--health-retries", "3") or 3)
        start = seconds(flags.get("--health-start-period", ""), 0.0)
        loop = asyncio.get_running_loop()
        grace_until = loop.time() + start
        failures = 0
        while True:
            check = await pm.run("healthcheck", "run", "--", self.services[key], check=False)
            if check.returncode == 0:
                return
            if loop.time() >= grace_until:
                failures += 1
            if failures >= retries:
                logs = await pm.run("logs", "--tail", "20", "--", self.services[key], check=False)
                raise ConveyorError(
                    f"service '{key}' is unhealthy after {retries} health checks: "
                    f"{(logs.stdout + logs.stderr).strip()[-500:]}"
                )
            await asyncio.sleep(min(interval, 1.0) if failures == 0 else interval)

    async def stop(self) -> None:
        """Remove the job container, the services and the network (errors ignored).

        The removal runs as a detached `podman` process (its own session: a Ctrl-C does not
        stop it, nor does Conveyor exiting), so the next job need not wait for it (about
        0.3 s a job here); `conveyor run` waits for all of them before it exits
        (`wait_teardown`).
        """
        names = list(self.services.values())
        if self.runner is not None:
            await self.runner.release()
            names.append(self.runner.name)
        commands: list[list[str]] = []
        pm = podman()
        if names:  # one podman call for all of them: each call costs about 0.3 s here
            commands.append(pm.argv("rm", "-f", "-t", "0", "--", *names))
        if self.network:
            commands.append(pm.argv("network", "rm", "-f", "--", self.network))
        if commands:
            script = " ; ".join(" ".join(shlex.quote(a) for a in c) for c in commands)
            _detached(["sh", "-c", script], env=dict(pm.env))


_PENDING: list[subprocess.Popen[bytes]] = []


def _detached(argv: list[str], *, env: dict[str, str]) -> None:
    _PENDING[:] = [p for p in _PENDING if p.poll() is None]  # reap the finished ones
    _PENDING.append(
        subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )


def wait_teardown(timeout: float = 60.0) -> None:
    """Wait until every job's containers are gone (called once a run is over)."""
    for proc in _PENDING:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
    _PENDING.clear()


def _flags(options: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    index = 0
    while index < len(options):
        item = options[index]
        if item.startswith("--") and "=" in item:
            name, _, value = item.partition("=")
            out[name] = value
        elif item.startswith("--") and index + 1 < len(options):
            out[item] = options[index + 1]
            index += 1
        index += 1
    return out


def registry_of(image: str) -> str:
    """The registry host of an image reference (`docker.io` when it names none)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


async def ensure_image(
    pm: Podman, image: str, *, credentials: Mapping[str, str] | None = None, authfile: str = ""
) -> None:
    """Pull `image` unless present; `credentials` (`username`/`password`) log in first."""
    if (await pm.run("image", "exists", "--", image, check=False)).returncode == 0:
        return
    registry = registry_of(image)
    auth = ["--tls-verify=false"] if registry.startswith(("127.", "localhost")) else []
    if credentials and credentials.get("username") and authfile:
        login = await pm.run(
            "login",
            "--authfile",
            authfile,
            *auth,
            "-u",
            credentials["username"],
            "--password-stdin",
            "--",
            registry,
            stdin=credentials.get("password", "").encode(),
            check=False,
        )
        if login.returncode != 0:
            raise ConveyorError(f"login to {registry} for '{image}' failed: {login.stderr.strip()}")
        auth += ["--authfile", authfile]
    pulled = await pm.run("pull", "-q", *auth, "--", image, check=False)
    if pulled.returncode != 0:
        raise ConveyorError(
            f"image '{image}' is not available locally and cannot be pulled: "
            f"{pulled.stderr.strip().splitlines()[-1] if pulled.stderr.strip() else 'pull failed'}"
        )
