"""What the target does to Podman: list, create, start, restart and remove replicas.

Each replica is one container named `<scope><namespace>_<pod>` on the namespace's network
(a pod's further containers, `<that name>--<container>`, join its network namespace),
named and labelled (see `names`) so the target finds it again after a restart and never
touches anything it did not create. Its private run directory (`<state>/run/<container>`,
0700) holds the env file and the ConfigMap/Secret/emptyDir volume files. Called by
`conveyor.targets.podman.controller` and its collaborators (`healing`, `removal`,
`creation`) and by `.target`; all podman calls go through
`conveyor.clients.podman.Podman`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.clients.errors import PodmanError
from conveyor.clients.podman import Podman
from conveyor.targets.podman import names
from conveyor.targets.podman.spec import RunPlan, SpecError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Replica:
    """One observed container of a workload."""

    id: str
    name: str
    namespace: str
    kind: str
    owner: str
    pod: str
    spec_hash: str
    slot: int
    state: str  # podman's: created, running, exited, paused, ...
    exit_code: int
    started_at: int
    labels: Mapping[str, str]

    @property
    def running(self) -> bool:
        return self.state == "running"

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Replica:
        labels = row.get("Labels") or {}
        return cls(
            id=str(row["Id"]),
            name=str((row.get("Names") or [""])[0]),
            namespace=labels.get(names.NAMESPACE_LABEL, ""),
            kind=labels.get(names.KIND_LABEL, ""),
            owner=labels.get(names.NAME_LABEL, ""),
            pod=labels.get(names.POD_LABEL, ""),
            spec_hash=labels.get(names.HASH_LABEL, ""),
            slot=int(labels.get(names.SLOT_LABEL, "0") or 0),
            state=str(row.get("State", "")).lower(),
            exit_code=int(row.get("ExitCode") or 0),
            started_at=int(row.get("StartedAt") or 0),
            labels=labels,
        )


class Runtime:
    def __init__(self, podman: Podman, target: str, state_dir: Path) -> None:
        self.podman = podman
        self.target = target
        self.run_root = state_dir / "run"
        self.run_root.mkdir(parents=True, exist_ok=True)
        self.run_root.chmod(0o700)
        self._ips: dict[str, str] = {}
        self._networks: set[str] = set()

    async def replicas(self) -> tuple[list[Replica], dict[str, list[Replica]]]:
        """The replicas (first containers of pods) and, per replica, its pod's sidecars."""
        rows = (
            await self.podman.json(
                "ps", "-a", *names.target_filter(self.target), "--format", "json"
            )
            or []
        )
        replicas: list[Replica] = []
        sidecars: dict[str, list[Replica]] = {}
        for row in rows:
            labels = row.get("Labels") or {}
            if row.get("IsInfra") or names.INIT_LABEL in labels:
                continue
            if names.SIDECAR_LABEL in labels:
                sidecars.setdefault(labels[names.SIDECAR_LABEL], []).append(Replica.of(row))
            else:
                replicas.append(Replica.of(row))
        return replicas, sidecars

    async def ip(self, replica: Replica) -> str:
        """The replica's address on its namespace network (cached per container id)."""
        if replica.id not in self._ips:
            try:
                data = await self.podman.json("inspect", "--type", "container", "--", replica.id)
            except PodmanError:
                return ""  # removed since it was listed: gone from the next listing
            nets = (data or [{}])[0].get("NetworkSettings", {}).get("Networks") or {}
            net = nets.get(names.network_name(self.target, replica.namespace)) or {}
            if not net.get("IPAddress"):
                return ""
            self._ips[replica.id] = str(net["IPAddress"])
        return self._ips[replica.id]

    def forget(self, container_id: str) -> None:
        """Drop a cached address (a restarted container may get a new one)."""
        self._ips.pop(container_id, None)

    async def ensure_network(self, namespace: str) -> str:
        name = names.network_name(self.target, namespace)
        if name in self._networks:
            return name
        found = await self.podman.run("network", "exists", "--", name, check=False)
        if found.returncode != 0:
            labels = [f"--label={k}={v}" for k, v in names.base_labels(self.target).items()]
            result = await self.podman.run(
                "network",
                "create",
                *labels,
                f"--label={names.NAMESPACE_LABEL}={namespace}",
                "--",
                name,
                check=False,
            )
            if result.returncode != 0 and "already exists" not in result.stderr:
                raise PodmanError(
                    self.podman.argv("network", "create", "--", name),
                    result.returncode,
                    result.stderr,
                )
        self._networks.add(name)
        return name

    async def ensure_volume(self, namespace: str, volume: str) -> None:
        found = await self.podman.run("volume", "exists", "--", volume, check=False)
        if found.returncode == 0:
            return
        labels = [f"--label={k}={v}" for k, v in names.base_labels(self.target).items()]
        result = await self.podman.run(
            "volume",
            "create",
            *labels,
            f"--label={names.NAMESPACE_LABEL}={namespace}",
            "--",
            volume,
            check=False,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise PodmanError(
                self.podman.argv("volume", "create", "--", volume), result.returncode, result.stderr
            )

    def prepare(self, name: str, plan: RunPlan) -> Path:
        """A fresh private run directory with the replica's volume files."""
        run_dir = self.run_root / name
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(mode=0o700, parents=True)
        for item in plan.files:
            path = inside(run_dir, run_dir / item.path, "spec.volumes")
            if item.path.endswith("/"):
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(item.mode)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, item.mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(item.data)
            path.chmod(item.mode)
        return run_dir

    def _env_file(self, run_dir: Path, name: str, plan: RunPlan) -> Path:
        env_file = run_dir / f".env-{name}"
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in plan.env)
        return env_file

    def _argv(self, name: str, run_dir: Path, env_file: Path, plan: RunPlan) -> list[str]:
        flags = [f.replace("{run}", str(run_dir)) for f in plan.flags]
        for option, value in itertools.pairwise(flags):
            if option == "-v" and value.startswith(f"{run_dir}/"):
                # after init containers ran: a symlink they left in an emptyDir must not
                # lead a subPath mount out of the run directory (issue 12, finding 4)
                inside(run_dir, Path(value.split(":", 1)[0]), "volumeMounts.subPath")
        # `--` ends podman's options: the image is never read as a flag
        head = ["--name", name, "--env-file", str(env_file), *flags]
        return [*head, "--", plan.image, *plan.command]

    async def create(
        self,
        name: str,
        plan: RunPlan,
        *,
        stop_timeout: int,
        prepared: bool = False,
        run_as: str = "",
    ) -> None:
        """Create and start one container (replacing a leftover of that name); `run_as`
        names the replica whose prepared run directory a sidecar shares."""
        run_dir = self.run_root / (run_as or name) if prepared else self.prepare(name, plan)
        env_file = self._env_file(run_dir, name, plan)
        argv = [
            "run",
            "-d",
            "--restart",
            "no",
            "--stop-timeout",
            str(stop_timeout),
            *self._argv(name, run_dir, env_file, plan),
        ]
        try:
            result = await self.podman.run(*argv, check=False)
            if result.returncode != 0 and "already in use" in result.stderr:
                await self._clear_leftover(name)
                result = await self.podman.run(*argv, check=False)
            if result.returncode != 0:
                raise PodmanError(self.podman.argv(*argv), result.returncode, result.stderr)
        finally:
            env_file.unlink(missing_ok=True)

    async def _clear_leftover(self, name: str) -> None:
        """Remove what holds `name` after an interrupted earlier attempt (kill -9 mid-create)
        if it is this target's; a container made by hand (or by another target) is never
        touched: the creation fails with a message saying so."""
        found = await self.podman.run(
            "container", "inspect", "--format", "{{json .Config.Labels}}", "--", name, check=False
        )
        if found.returncode == 0:  # else only storage remains: nothing anyone else owns
            labels = json.loads(found.stdout or "null") or {}
            if any(labels.get(k) != v for k, v in names.base_labels(self.target).items()):
                raise PodmanError(
                    self.podman.argv("run", "--name", name),
                    125,
                    f"container name {name} is used by a container that target "
                    f"{self.target!r} did not create; remove or rename that container",
                )
        await self.podman.run("rm", "-f", "-t", "0", "--ignore", "--", name, check=False)

    async def run_to_completion(self, name: str, run_as: str, plan: RunPlan) -> int:
        """Run an init container in the replica `run_as`'s directory; its exit code."""
        run_dir = self.run_root / run_as
        env_file = self._env_file(run_dir, name, plan)
        try:
            await self.podman.run("rm", "-f", "-t", "0", "--ignore", "--", name, check=False)
            result = await self.podman.run(
                "run", "--rm", *self._argv(name, run_dir, env_file, plan), check=False
            )
        finally:
            env_file.unlink(missing_ok=True)
        return result.returncode

    async def remove(self, names_: Sequence[str]) -> None:
        if not names_:
            return
        # --depend: a pod's sidecars (sharing the replica's network) go with it
        await self.podman.run(
            "rm", "-f", "-t", "0", "--depend", "--ignore", "--", *names_, check=False
        )
        for name in names_:
            shutil.rmtree(self.run_root / name, ignore_errors=True)

    async def start(self, name: str) -> None:
        await self.podman.run("start", "--", name, check=False)

    async def unpause(self, name: str) -> None:
        await self.podman.run("unpause", "--", name, check=False)

    async def restart(self, name: str) -> None:
        await self.podman.run("restart", "-t", "0", "--", name, check=False)

    async def exec(self, name: str, argv: Sequence[str], timeout: float) -> int:
        try:
            result = await self.podman.run("exec", "--", name, *argv, check=False, timeout=timeout)
        except TimeoutError:
            return 124
        return result.returncode

    async def logs(self, name: str) -> str:
        result = await self.podman.run("logs", "--tail", "20", "--", name, check=False)
        return result.stdout + result.stderr


def inside(run_dir: Path, path: Path, field: str) -> Path:
    """`path` if it resolves (symlinks followed) inside `run_dir`, else `SpecError`."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(os.path.realpath(run_dir)):
        raise SpecError(field, f"{path} resolves to {real}, outside the replica's run directory")
    return path
