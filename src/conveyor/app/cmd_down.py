"""`conveyor down`: stop `conveyor up` and remove the workloads Conveyor runs on Podman.

What the Podman target starts outlives `conveyor up` and `conveyor reconcile --once` on
purpose (the environments keep serving); `down` is how they go. In order:

1. a `conveyor up` running on `--state-dir` is asked to stop (SIGTERM; it stops its
   server, registry and reconciler, so nothing re-creates what follows), and its lock is
   held until the end, so none starts meanwhile;
2. for each Podman target (those of `--config`; else the `conveyor.yaml` that `up` wrote
   into the state directory; else the default of `conveyor reconcile`: target `local`
   under `.conveyor/`), `targets.podman.teardown` stops its Service proxy and removes its
   containers and networks, and with `--volumes` its volumes: only what carries that
   target's labels;
3. for each target it removed something from, it records in the reconciler's state
   (`restore.mark_removed`) that the apps there no longer run, so the next reconciler
   deploys them again as new (an app without selfHeal would otherwise stay down, and one
   with it would be told and counted as drift);
4. it says what it removed, per target; a second run finds nothing and says so.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import click

from conveyor.app import platform
from conveyor.clients.podman import Podman
from conveyor.core.errors import UserError
from conveyor.reconcile.config import Config, TargetConfig, load_config
from conveyor.reconcile.restore import mark_removed
from conveyor.store import Store
from conveyor.targets.podman.teardown import Removed, teardown

UP_STOP_TIMEOUT = 90.0


def down_config(state_dir: Path, config_path: Path | None) -> Config:
    """The configuration `down` is about: `--config`, else the one `up` wrote, else the
    default of `conveyor reconcile`."""
    written_by_up = state_dir / "conveyor.yaml"
    if config_path is None and written_by_up.is_file():
        config_path = written_by_up
    return load_config(config_path)


def podman_targets(config: Config) -> list[tuple[str, Path]]:
    """(name, state directory) of each Podman target `down` is about."""
    state_root = Path(config.cache).parent
    return [(t.name, _target_dir(t, state_root)) for t in config.targets if t.type == "podman"]


def forget_deploys(state: str, target: str) -> list[str]:
    """Tell the reconciler's state (if there is one) that the apps on `target` no longer
    run there (`restore.mark_removed`): its next start deploys them again as new."""
    if "://" not in state and not Path(state).is_file():
        return []
    store = Store.open(state)
    try:
        return mark_removed(store, target, time.time())
    finally:
        store.close()


def _target_dir(target: TargetConfig, state_root: Path) -> Path:
    # as `cmd_reconcile.make_target` places it
    return Path(target.options.get("stateDir") or state_root / "podman" / target.name)


def _up_pid(state_dir: Path) -> int | None:
    try:
        pid = platform.load(state_dir).pid
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (UserError, OSError):
        return None
    return pid if b"up" in argv and any(b"conveyor" in a for a in argv) else None


def stop_up(state_dir: Path) -> tuple[int | None, int]:
    """Stop a `conveyor up` on `state_dir`: (its pid or None, the lock now held)."""
    lock = platform.lock(state_dir)
    if lock is not None:
        return None, lock
    pid = _up_pid(state_dir)
    if pid is None:
        raise UserError(
            f"a `conveyor up` is starting in {state_dir} and cannot be told to stop yet",
            hint="wait until it has started (or press Ctrl-C in it), then run `conveyor down`",
        )
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + UP_STOP_TIMEOUT
    while (lock := platform.lock(state_dir)) is None:
        if time.monotonic() > deadline:
            raise UserError(
                f"`conveyor up` (pid {pid}) did not stop within {UP_STOP_TIMEOUT:.0f}s",
                hint=f"see {state_dir / 'logs'}; stop it by hand, then run `conveyor down`",
            )
        time.sleep(0.2)
    return pid, lock


def describe(removed: Removed, apps: list[str] | None = None) -> list[str]:
    """What `down` says about one target (and the apps whose deploys it forgot)."""
    if removed.nothing:
        return [f"target {removed.target}: nothing to remove"]
    lines = [f"target {removed.target}:"]
    if removed.proxy_pid is not None:
        lines.append(f"  stopped the Service proxy (pid {removed.proxy_pid})")
    for label, items in (
        ("containers", removed.containers),
        ("networks", removed.networks),
        ("volumes", removed.volumes),
    ):
        if items:
            lines.append(f"  removed {len(items)} {label}: {', '.join(items)}")
    if removed.objects:
        lines.append(
            f"  forgot {removed.objects} applied objects (the next reconcile applies them again)"
        )
    if apps:
        lines.append(
            f"  the reconciler deploys {', '.join(apps)} again when it next starts "
            "(as new, not as drift)"
        )
    lines += [f"  kept {why}" for why in removed.kept]
    return lines


@click.command("down")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=platform.DEFAULT_STATE_DIR,
    show_default=True,
    help="The state directory of `conveyor up` (and of `conveyor reconcile`'s default).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="conveyor.yaml naming the targets (default: the one `up` wrote, else `local`).",
)
@click.option("--volumes", is_flag=True, help="Also remove the volumes (PVC data).")
def down(state_dir: Path, config_path: Path | None, volumes: bool) -> None:
    """Stop `conveyor up` and remove the workloads, networks and proxies it runs."""
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    pid, lock = stop_up(state_dir)
    try:
        if pid is not None:
            click.echo(f"stopped `conveyor up` (pid {pid}): server, registry and reconciler")
        config = down_config(state_dir, config_path)
        for name, target_dir in podman_targets(config):
            podman = Podman(state_dir=target_dir / "podman")
            removed = asyncio.run(teardown(podman, name, target_dir, volumes=volumes))
            apps = forget_deploys(config.state, name) if not removed.nothing else []
            click.echo("\n".join(describe(removed, apps)))
    finally:
        os.close(lock)
