"""`conveyor reconcile`: run the GitOps control loop (or one pass with `--once`).

Composition root for the reconciler: reads `conveyor.yaml` (targets, state, cache),
instantiates the concrete targets (podman, memory, kubernetes), opens the store, loads the
Applications from a path or a Git repository URL, and runs `reconcile.Reconciler` (held
by a `reconcile.loop.Loop` unless `--once`).
`--once` reconciles every app once, then waits for what it started to end (the rollouts
a target carries on in the background; `reconcile.settle`) within `--timeout`, and exits
1 unless all are Synced and Healthy, saying for each other app what is left and what to
do. What it started keeps running after it exits: containers, and the Podman target's
Service proxy (a detached process), until a later pass, the daemon or `conveyor down`.

`--shard-lease NAMESPACE` runs this process as one of several replicas that share the apps
through Kubernetes Leases (app/shardlease, `reconcile.membership`); with `--listen`, each
replica answers for every app, forwarding to the owner (app/shardroute).
`--token-file` gives `--listen` a bearer token from a file (a mounted Secret the server's
`--refresh-token-file` reads too) instead of a new random one per start.

`open_world()` is shared with `conveyor app …` (cmd_app), which works against the same
state file; the apps and config last used are remembered in the store's settings. With
`notify=True` (the daemon, `--once`, and the server's in-process reconciler) the config's
`notifications:` section gets a `notify.Notifier` writing to this store (issue 17); the
one-off `conveyor app` commands report to their user directly and notify nobody.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from conveyor.app import daemonlink, reconcilerhttp, shardlease, shardroute, tracing
from conveyor.core.errors import UserError
from conveyor.notify.config import load_notifications
from conveyor.notify.notifier import Notifier
from conveyor.reconcile import appfiles
from conveyor.reconcile.applications import Catalog
from conveyor.reconcile.appspec import parse_duration
from conveyor.reconcile.config import Config, TargetConfig, load_config
from conveyor.reconcile.errors import SourceError
from conveyor.reconcile.health import Checker
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.membership import Membership
from conveyor.reconcile.notices import Notices
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.settle import Outcome, Settled, settle
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.unseal import Unsealer
from conveyor.store import Store
from conveyor.targets.base import Target
from conveyor.targets.memory import MemoryTarget


def make_target(config: TargetConfig, *, state_root: Path) -> Target:
    """Instantiate one configured target (`type`: memory | podman | kubernetes)."""
    options = config.options
    if config.type == "memory":
        state_file = options.get("stateFile")
        return MemoryTarget(
            target_name=config.name,
            ready_after=parse_duration(options.get("readyAfter", 0)),
            apply_delay=parse_duration(options.get("applyDelay", 0)),
            state_file=Path(state_file) if state_file else None,
        )
    if config.type == "podman":
        module = importlib.import_module("conveyor.targets.podman")
        state_dir = Path(options.get("stateDir") or state_root / "podman" / config.name)
        from conveyor.clients.podman import Podman

        # images come from registries without TLS on loopback (`conveyor up`'s): listed here
        insecure = [str(r) for r in options.get("insecureRegistries") or []]
        podman = Podman(state_dir=state_dir / "podman", insecure_registries=insecure)
        target: Target = module.PodmanTarget(name=config.name, state_dir=state_dir, podman=podman)
        return target
    if config.type == "kubernetes":  # imported here only when used: lightkube is not small
        build = importlib.import_module("conveyor.targets.kubernetes.build").build
        kube: Target = build(config.name, options, seconds=parse_duration)
        return kube
    raise UserError(
        f"target {config.name!r}: the {config.type} target is not available yet",
        hint="use a podman, memory or kubernetes target",
    )


async def load_apps(source: str, *, sources: Sources) -> Catalog:
    """Applications from a local file/directory, or from `apps/` of a Git repository, with
    the Applications their ApplicationSets generate (`reconcile.appfiles`)."""
    path = Path(source)
    if path.exists():
        return await appfiles.load(
            [path / "apps" if (path / "apps").is_dir() else path], sources=sources
        )
    try:
        await sources.fetch(source)
    except SourceError as exc:
        raise UserError(f"--apps {source}: {exc}", hint="give a directory or a Git URL") from exc
    sha = await sources.resolve(source, "HEAD")
    checkout = await sources.checkout(source, sha, ".", whole=True)
    apps_dir = checkout.root / "apps"
    return await appfiles.load(
        [apps_dir if apps_dir.is_dir() else checkout.root], sources=sources, root=checkout.root
    )


@dataclass
class World:
    config: Config
    store: Store
    env: Env
    apps_source: str
    notifier: Notifier | None = None  # issue 17: started by its first notice

    async def reconciler(self, *, sharded: bool = False) -> Reconciler:
        catalog = await load_apps(self.apps_source, sources=self.env.sources)
        reconciler = Reconciler((), self.env, sharded=sharded)
        reconciler.set_catalog(catalog)
        return reconciler


@contextmanager
def open_world(
    *,
    apps: str | None,
    config_path: str | None,
    state: str | None,
    notify: bool = False,
    notifications: Path | None = None,
) -> Iterator[World]:
    """Config, store, targets and sources; remembers `apps`/`config` for `conveyor app`."""
    config = load_config(Path(config_path) if config_path else None)
    store = Store.open(state or config.state)
    try:
        if config_path is None and apps is None:
            remembered = store.setting("config")
            config = load_config(Path(remembered)) if remembered else config
        apps = apps or store.setting("apps")
        if not apps:
            raise UserError("no applications given", hint="pass --apps PATH_OR_REPO_URL")
        store.set_setting("apps", apps if "://" in apps else str(Path(apps).resolve()))
        if config.file:
            store.set_setting("config", str(Path(config.file).resolve()))
        state_root = Path(config.cache).parent
        targets = {t.name: make_target(t, state_root=state_root) for t in config.targets}
        env = Env(
            targets=targets,
            store=store,
            sources=Sources(config.cache),
            health=Checker(config.health),
            unsealer=Unsealer.from_config(config, state_root),
        )
        world = World(config=config, store=store, env=env, apps_source=apps)
        if notify:
            attach_notifier(world, notifications)
        yield world
    finally:
        store.close()


def attach_notifier(world: World, notifications: Path | None = None) -> None:
    """The `notifications:` section (if any) of the file `notifications` names, else of the
    config, as the reconciler's notice publisher."""
    if notifications is None and world.config.file:
        notifications = Path(world.config.file)
    section = load_notifications(notifications)
    if section is not None:
        world.notifier = Notifier(section, world.store.deliveries)
        world.env.notices = Notices(world.notifier, stuck_after=section.rollout_stuck_after)


async def close_notifier(world: World, *, wait: float) -> None:
    """Let deliveries in flight finish (at most `wait` seconds), then stop the notifier."""
    if world.notifier is not None:
        if not await world.notifier.flush(wait):
            click.echo(f"notifications still being delivered after {wait:g}s: stopped", err=True)
        await world.notifier.aclose()


def summary_rows(statuses: dict[str, dict[str, Any]]) -> list[str]:
    rows = [f"{'NAME':<24} {'SYNC':<10} {'HEALTH':<12} {'REVISION':<12} READY"]
    for name, status in sorted(statuses.items()):
        ready = status["conditions"][0]
        why = "" if ready["status"] == "True" else f"{ready['reason']}: {ready['message']}"
        rows.append(
            f"{name:<24} {status['sync']['status']:<10} "
            f"{status['health']['status']:<12} {status['sync']['revision'][:12]:<12} "
            f"{ready['status']} {why}".rstrip()
        )
    return rows


async def _loop(
    world: World,
    interval: float,
    listen: str | None,
    shard: Membership | None = None,
    token: str | None = None,
) -> None:
    control = Loop(await world.reconciler(sharded=shard is not None), shard=shard)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def reload() -> Catalog:
        return await load_apps(world.apps_source, sources=world.env.sources)

    server: asyncio.Server | None = None
    daemon: daemonlink.Daemon | None = None
    if listen:
        token = token or daemonlink.new_token()
        router = None if shard is None else shardroute.Router(shard, control.reconciler, token)
        server, url = await reconcilerhttp.listen(control, listen, token, router=router)
        token_file = Path(world.config.cache).parent / "reconciler.token"
        daemon = daemonlink.publish(world.store, url, token_file, token)
    try:
        await control.run(interval=interval, stop=stop, reload=reload)
    finally:
        if server is not None:
            server.close()
        if daemon is not None:
            daemonlink.withdraw(world.store, daemon)
        if shard is not None:
            await shard.lock.client.close()
        await close_notifier(world, wait=5.0)
        await close_targets(world)


async def _once(world: World, timeout: float) -> Settled:
    """One pass, then wait for its rollouts; `timeout` bounds the whole (a wave of the
    pass waits at most that long too)."""
    deadline = bound_waits(world, timeout)
    reconciler = await world.reconciler()
    try:
        statuses = await reconciler.reconcile_all()
        return await settle(reconciler, statuses, deadline=deadline, clock=world.env.clock)
    finally:
        await close_notifier(world, wait=30.0)  # `--once` exits: deliver what it found
        await close_targets(world)


def bound_waits(world: World, timeout: float) -> float:
    """The deadline `timeout` from now; a sync wave of this process waits no longer than
    `timeout` either. Used by `--once` and the in-process `conveyor app` commands."""
    env = world.env
    env.sync_options = replace(
        env.sync_options, wave_timeout=min(env.sync_options.wave_timeout, timeout)
    )
    return env.clock() + timeout


def explain(settled: Settled, timeout: str) -> list[str]:
    """One line per app that did not end Ready: what is left, and what to do next."""
    lines = []
    for name, outcome in sorted(settled.outcomes.items()):
        status = settled.statuses[name]
        ready = status["conditions"][0]
        why = f"{ready['reason']}: {ready['message']}".rstrip(": ")
        if outcome == Outcome.TIMED_OUT:
            lines.append(
                f"{name}: still progressing after --timeout {timeout} ({why}); what runs now "
                "keeps running and the rollout resumes with the next `conveyor reconcile` "
                "(--once again, or the daemon); give it longer with --timeout"
            )
        elif outcome == Outcome.FAILED and _KEY_PROBLEM.search(why):
            lines.append(
                f"{name}: {why}; give the reconciler the age key the file was encrypted for "
                "(the app's spec.decryption keyFile, mode 0600, or secretRef; or "
                "SOPS_AGE_KEY_FILE) and run `conveyor reconcile --once` again"
            )
        elif outcome == Outcome.FAILED:
            lines.append(
                f"{name}: {why}; fix it in Git (or `conveyor app rollback {name}`) and run "
                "`conveyor reconcile --once` again; `conveyor app get "
                f"{name}` shows each object's state"
            )
    return lines


#: a render that failed on the reconciler's age keys, not on what Git holds (the SOPS
#: reasons NoKey, WrongKey and BadKeyFile, as `reconcile.decrypt` words them)
_KEY_PROBLEM = re.compile(r"SOPS decryption failed \((NoKey|WrongKey|BadKeyFile)\)")


async def close_targets(world: World) -> None:
    for target in world.env.targets.values():
        closer = getattr(target, "aclose", None)
        if closer is not None:
            await closer()


@click.command("reconcile")
@click.option(
    "--apps",
    "apps",
    required=True,
    metavar="PATH_OR_REPO_URL",
    help="Application files (a file, a directory, or a Git repo with apps/).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="conveyor.yaml with targets, state and cache (default: one podman target).",
)
@click.option("--state", help="State database: an SQLite file or a SQLAlchemy URL.")
@click.option(
    "--once",
    is_flag=True,
    help="Reconcile every app once and wait for the rollouts to end; exit 1 unless all Ready.",
)
@click.option(
    "--timeout",
    default="5m",
    show_default=True,
    help="With --once: the longest to wait for the pass and its rollouts (e.g. 90s, 10m).",
)
@click.option("--interval", default="30s", show_default=True, help="Poll interval.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print statuses as JSON.")
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Serve /healthz, and with a bearer token (written 0600 beside the cache) /metrics, "
    "refresh triggers and `conveyor app` commands, on HOST:PORT.",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --listen: read its bearer token from this file (e.g. a mounted Secret) "
    "instead of making a new one at each start.",
)
@click.option(
    "--notifications",
    "notifications_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the notifications: section from this file instead of --config's "
    "(`conveyor up --notifications` passes it on).",
)
@shardlease.options
def reconcile(
    *,
    apps: str,
    config_path: str | None,
    state: str | None,
    once: bool,
    timeout: str,
    interval: str,
    as_json: bool,
    listen: str | None,
    token_file: Path | None,
    notifications_file: Path | None,
    shard_lease: str | None,
    shard_lease_duration: str | None,
    shard_advertise: str | None,
) -> None:
    """Make every environment match the config repo: sync, prune, self-heal, report."""
    seconds = parse_duration(interval)
    wait = parse_duration(timeout, where="--timeout: ")
    token = daemonlink.read_token(token_file, listen=listen, once=once)
    shard = shardlease.from_options(
        shard_lease, shard_lease_duration, once=once, listen=listen, advertise=shard_advertise
    )
    if not once:  # the daemon's log says what it does (--once prints its own summary)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    tracing.setup("reconciler")  # issue 17: only with an OTLP endpoint configured
    with open_world(
        apps=apps,
        config_path=config_path,
        state=state,
        notify=True,
        notifications=notifications_file,
    ) as world:
        if not once:
            asyncio.run(_loop(world, seconds, listen, shard, token))
            return
        settled = asyncio.run(_once(world, wait))
    if as_json:
        click.echo(json.dumps(settled.statuses, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(summary_rows(settled.statuses)))
    if not settled.ok:
        for line in explain(settled, timeout):
            click.echo(line, err=True)
        # An invalid Application is the user's input to fix, like any other bad input.
        sys.exit(2 if settled.invalid else 1)
