"""What this host's Podman needs, detected, written to a Conveyor-owned containers.conf.

Podman as packaged by Debian fails on some hosts with its defaults: `crun` cannot run on a
cgroup v1/hybrid hierarchy ("cgroups in hybrid mode not supported"), the systemd cgroup
manager and journald event logger need systemd as PID 1, and the default container ulimits
fail with EPERM when they exceed the host's hard limits. Rather than edit the system's files,
Conveyor writes its own `containers.conf` (and `registries.conf` for local insecure
registries) and hands them to every podman process through `CONTAINERS_CONF` /
`CONTAINERS_REGISTRIES_CONF` (podman then reads only those files).

Called by `conveyor.clients.podman.Podman` (once per state directory) and by `conveyor up`.
Pure detection in `detect()`; file writing in `write_config()`.
"""

from __future__ import annotations

import os
import resource
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_CGROUP2_MAGIC_FILE = "cgroup.controllers"
_NOFILE_WANTED = 1024
_NPROC_WANTED = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFacts:
    """What was found on the host; `describe()` says it in one line for logs."""

    cgroup_v2_only: bool
    systemd_pid1: bool
    runtimes: tuple[str, ...]
    nofile_hard: int
    nproc_hard: int
    rootless: bool = False

    def describe(self) -> str:
        cgroups = "cgroup v2" if self.cgroup_v2_only else "cgroup v1/hybrid"
        init = "systemd" if self.systemd_pid1 else "no systemd"
        return f"{cgroups}, {init}, runtimes {', '.join(self.runtimes) or 'none'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PodmanSettings:
    """The containers.conf choices derived from `HostFacts`."""

    runtime: str
    cgroup_manager: str
    events_logger: str
    ulimits: tuple[str, ...]
    rootless: bool = False


def _limit(kind: int, wanted: int) -> int:
    _soft, hard = resource.getrlimit(kind)
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def detect(cgroup_root: Path = CGROUP_ROOT) -> HostFacts:
    """Read the facts podman's defaults depend on."""
    v2_only = (cgroup_root / _CGROUP2_MAGIC_FILE).exists()
    comm = Path("/proc/1/comm")
    systemd = comm.exists() and comm.read_text().strip() == "systemd"
    runtimes = tuple(r for r in ("crun", "runc") if shutil.which(r))
    return HostFacts(
        cgroup_v2_only=v2_only,
        systemd_pid1=systemd and Path("/run/systemd/system").is_dir(),
        runtimes=runtimes,
        nofile_hard=_limit(resource.RLIMIT_NOFILE, _NOFILE_WANTED),
        nproc_hard=_limit(resource.RLIMIT_NPROC, _NPROC_WANTED),
        rootless=os.geteuid() != 0,
    )


def choose(facts: HostFacts) -> PodmanSettings:
    """Pick settings that work on this host (see the module docstring for why)."""
    if facts.cgroup_v2_only and "crun" in facts.runtimes:
        runtime = "crun"
    elif "runc" in facts.runtimes:
        runtime = "runc"
    else:
        runtime = facts.runtimes[0] if facts.runtimes else "runc"
    ulimits = (
        f"nofile={facts.nofile_hard}:{facts.nofile_hard}",
        f"nproc={facts.nproc_hard}:{facts.nproc_hard}",
    )
    return PodmanSettings(
        runtime=runtime,
        cgroup_manager="systemd" if facts.systemd_pid1 else "cgroupfs",
        events_logger="journald" if facts.systemd_pid1 else "file",
        ulimits=ulimits,
        rootless=facts.rootless,
    )


def render_containers_conf(settings: PodmanSettings) -> str:
    limits = "".join(f'  "{u}",\n' for u in settings.ulimits)
    return (
        "# Written by Conveyor for this host; see conveyor.clients.podman_host.\n"
        "[containers]\n"
        f"default_ulimits = [\n{limits}]\n"
        'log_driver = "k8s-file"\n'
        f"{_ROOTLESS if settings.rootless else ''}\n"
        "[engine]\n"
        f'runtime = "{settings.runtime}"\n'
        f'cgroup_manager = "{settings.cgroup_manager}"\n'
        f'events_logger = "{settings.events_logger}"\n'
    )


# Rootless (a local job's user, issue 12 #1): without systemd there is no cgroup delegation,
# and slirp4netns fails here ("failed to read from slirp4netns sync pipe"), so containers
# use no cgroups and the host's network (they can reach what the job user can, no more).
_ROOTLESS = 'cgroups = "disabled"\nnetns = "host"\n'


def render_registries_conf(insecure: Sequence[str]) -> str:
    lines = ["# Written by Conveyor: local registries reached without TLS.", ""]
    lines.append('unqualified-search-registries = ["localhost"]')
    for location in insecure:
        lines += ["", "[[registry]]", f'location = "{location}"', "insecure = true"]
    return "\n".join(lines) + "\n"


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_config(state_dir: Path, *, insecure_registries: Sequence[str] = ()) -> dict[str, str]:
    """Write the files (only when they change) and return the environment that selects them."""
    state_dir.mkdir(parents=True, exist_ok=True)
    conf = state_dir / "containers.conf"
    registries = state_dir / "registries.conf"
    _write_if_changed(conf, render_containers_conf(choose(detect())))
    _write_if_changed(registries, render_registries_conf(insecure_registries))
    return {"CONTAINERS_CONF": str(conf), "CONTAINERS_REGISTRIES_CONF": str(registries)}
