"""`conveyor app list|get|diff|sync|history|rollback|refresh`: inspect and act on the
applications the reconciler manages, against the same state database (`--state`, or the
one `conveyor reconcile` last used). Every subcommand takes `--json`.

`list`, `get` and `history` only read the store. `sync`, `refresh` and `rollback` go to
the running `conveyor reconcile --listen` daemon when the store records one
(`app.daemonlink`), so a second reconciler never drives the same targets beside it;
without one they, and `diff`, load the apps and targets `conveyor reconcile` used
(remembered in the store) and act in this process. `diff` prints a unified diff per
object, coloured on a TTY, Secret values redacted, and exits 1 when there are
differences (as `argocd app diff` does).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from conveyor.app import daemonlink
from conveyor.app.cmd_reconcile import (
    World,
    bound_waits,
    close_targets,
    explain,
    open_world,
    summary_rows,
)
from conveyor.core.errors import UserError
from conveyor.reconcile.appspec import parse_duration
from conveyor.reconcile.config import load_config
from conveyor.reconcile.diff import render_diff
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.rollback import revert, rollback
from conveyor.reconcile.settle import Settled, is_ready, settle
from conveyor.store import Store

T = TypeVar("T")

_state = click.option("--state", help="State database (default: the reconciler's).")
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_apps = click.option("--apps", help="Application files or repo (default: the last used).")
_config = click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="conveyor.yaml (default: the last used).",
)


def _open_store(state: str | None) -> Store:
    return Store.open(state or load_config(None).state)


def _via_daemon(state: str | None, name: str, action: str, **params: str) -> dict[str, Any] | None:
    """The app's status after the running daemon did `action`; None when none runs."""
    store = _open_store(state)
    try:
        daemon = daemonlink.find(store)
    finally:
        store.close()
    if daemon is None:
        return None
    click.echo(f"(done by the running reconciler, pid {daemon.pid})", err=True)
    return daemonlink.call(daemon, f"/apps/{urllib.parse.quote(name, safe='')}/{action}", params)


def _status(store: Store, name: str) -> dict[str, Any]:
    status = store.load_status(name)
    if not status:
        raise UserError(
            f"no application named {name!r} has been reconciled", hint="see `conveyor app list`"
        )
    return status


def _act(
    apps: str | None,
    config_path: str | None,
    state: str | None,
    action: Callable[[Reconciler], Awaitable[T]],
) -> T:
    """Run `action` with a reconciler built from the remembered apps and config."""
    with open_world(apps=apps, config_path=config_path, state=state) as world:
        return asyncio.run(_in_world(world, action))


async def _in_world(world: World, action: Callable[[Reconciler], Awaitable[T]]) -> T:
    reconciler = await world.reconciler()
    try:
        return await action(reconciler)
    except KeyError as exc:
        raise UserError(str(exc.args[0]), hint="see `conveyor app list`") from exc
    except ReconcileError as exc:
        raise UserError(str(exc), hint="see `conveyor app list`") from exc
    finally:
        await close_targets(world)


def _act_and_wait(
    name: str,
    *,
    apps: str | None,
    config_path: str | None,
    state: str | None,
    action: Callable[[Reconciler], Awaitable[dict[str, Any]]],
    timeout: str,
) -> dict[str, Any]:
    """`_act`, then wait for NAME's rollout to end as `conveyor reconcile --once` does: a
    target such as Podman rolls out in the background of this process, so returning at
    once would stop the rollout with it (issue 11). Prints why unless it ended Ready."""
    seconds = parse_duration(timeout, where="--timeout: ")
    with open_world(apps=apps, config_path=config_path, state=state) as world:
        deadline = bound_waits(world, seconds)

        async def act_then_settle(reconciler: Reconciler) -> Settled:
            status = await action(reconciler)
            clock = world.env.clock
            return await settle(reconciler, {name: status}, deadline=deadline, clock=clock)

        settled = asyncio.run(_in_world(world, act_then_settle))
    for line in explain(settled, timeout):
        click.echo(line, err=True)
    return settled.statuses[name]


_timeout = click.option(
    "--timeout",
    default="5m",
    show_default=True,
    help="Without a running reconciler: the longest to wait for the rollout (e.g. 90s).",
)


def _echo_status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(status, indent=2, sort_keys=True))
        return
    click.echo("\n".join(summary_rows({status["name"]: status})))
    op = status.get("operation") or {}
    if op:
        click.echo(f"last operation: {op['phase']} at {op['revision'][:12]} ({op['message']})")
        for result in op.get("results", []):
            click.echo(f"  {result['code']:<13} {result['object']}  {result['message']}")
    if status["autoSync"]["paused"]:
        click.echo(f"auto-sync paused: {status['autoSync']['reason']}")
    for condition in status["conditions"][3:]:  # warnings, e.g. SharedResourceWarning
        click.echo(f"{condition['type']}: {condition['message']}")


@click.group("app")
def app() -> None:
    """Inspect and act on reconciled applications."""


@app.command("list")
@_state
@_json
def list_apps(state: str | None, as_json: bool) -> None:
    """One line per application: sync, health, revision, readiness."""
    store = _open_store(state)
    try:
        statuses = {k: v for k, v in store.all_statuses().items() if v}
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(list(statuses.values()), indent=2, sort_keys=True))
    else:
        click.echo("\n".join(summary_rows(statuses)))


@app.command("get")
@click.argument("name")
@_state
@_json
def get(name: str, state: str | None, as_json: bool) -> None:
    """Status of one application, with its last operation's per-object results."""
    store = _open_store(state)
    try:
        status = _status(store, name)
    finally:
        store.close()
    _echo_status(status, as_json)


@app.command("history")
@click.argument("name")
@_state
@_json
def history(name: str, state: str | None, as_json: bool) -> None:
    """The last 10 syncs: id, revision, manifest digest, result, who and why."""
    store = _open_store(state)
    try:
        entries = store.history(name)
    finally:
        store.close()
    rows: list[dict[str, Any]] = [
        {
            "id": e.id,
            "revision": e.revision,
            "digest": e.digest,
            "started": e.started,
            "finished": e.finished,
            "result": e.result,
            "initiatedBy": e.initiated_by,
            "reason": e.reason,
        }
        for e in entries
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'ID':<5} {'REVISION':<12} {'RESULT':<12} {'FINISHED':<20} {'BY':<10} REASON")
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["finished"]))
        click.echo(
            f"{row['id']:<5} {row['revision'][:12]:<12} {row['result']:<12} {when:<20} "
            f"{row['initiatedBy']:<10} {row['reason']}"
        )


@app.command("diff")
@click.argument("name")
@_apps
@_config
@_state
@_json
def diff(
    name: str, apps: str | None, config_path: str | None, state: str | None, as_json: bool
) -> None:
    """What a sync would change: a unified diff per object (live → desired)."""
    diffs = _act(apps, config_path, state, lambda r: r.diff(name))
    if as_json:
        click.echo(
            json.dumps([{"object": str(d.ref), "diff": render_diff(d)} for d in diffs], indent=2)
        )
    else:
        color = sys.stdout.isatty()
        for item in diffs:
            for line in render_diff(item):
                click.echo(_colour(line) if color else line)
    if diffs:
        sys.exit(1)


def _colour(line: str) -> str:
    if line.startswith(("+++", "---")):
        return click.style(line, bold=True)
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    return line


@app.command("sync")
@click.argument("name")
@click.option("--revision", help="Sync this revision instead of targetRevision.")
@click.option(
    "--prune/--no-prune",
    default=True,
    show_default=True,
    help="Delete objects no longer in Git (inventory only).",
)
@_apps
@_config
@_state
@_json
@_timeout
def sync(
    *,
    name: str,
    revision: str | None,
    prune: bool,
    apps: str | None,
    config_path: str | None,
    state: str | None,
    as_json: bool,
    timeout: str,
) -> None:
    """Sync now (also resumes auto-sync paused by a rollback); without a running reconciler,
    wait for the rollout to end (Healthy, Degraded or --timeout)."""
    prune_flag = "true" if prune else "false"
    status = _via_daemon(state, name, "sync", revision=revision or "", prune=prune_flag)
    waited = status is None
    if status is None:
        status = _act_and_wait(
            name,
            apps=apps,
            config_path=config_path,
            state=state,
            action=lambda r: r.sync(name, revision=revision, by="cli", prune=prune),
            timeout=timeout,
        )
    _echo_status(status, as_json)
    if (status.get("operation") or {}).get("phase") != "Succeeded" or (
        waited and not is_ready(status)
    ):
        sys.exit(1)


@app.command("refresh")
@click.argument("name")
@_apps
@_config
@_state
@_json
@_timeout
def refresh(
    *,
    name: str,
    apps: str | None,
    config_path: str | None,
    state: str | None,
    as_json: bool,
    timeout: str,
) -> None:
    """Fetch and reconcile one application at once (auto-sync applies as configured)."""

    async def go(reconciler: Reconciler) -> dict[str, Any]:
        reconciler.runtime(name)
        await reconciler.reconcile_apps([name])
        return reconciler.status(name)

    status = _via_daemon(state, name, "refresh")
    if status is None:
        status = _act_and_wait(
            name, apps=apps, config_path=config_path, state=state, action=go, timeout=timeout
        )
    _echo_status(status, as_json)


@app.command("rollback")
@click.argument("name")
@click.argument("history_id", type=int, required=False)
@click.option(
    "--revert",
    "as_revert",
    is_flag=True,
    help="Commit a revert in the config repo instead, and let auto-sync deploy it.",
)
@_apps
@_config
@_state
@_json
@_timeout
def rollback_app(
    *,
    name: str,
    history_id: int | None,
    as_revert: bool,
    apps: str | None,
    config_path: str | None,
    state: str | None,
    as_json: bool,
    timeout: str,
) -> None:
    """Go back to an earlier synced revision (default: the previous one)."""
    if as_revert:

        async def go_revert(reconciler: Reconciler) -> dict[str, Any]:
            sha = await revert(reconciler, name, history_id, sync=False)
            return {**reconciler.status(name), "revertCommit": sha}

        status = _act(apps, config_path, state, go_revert)
        if not as_json:
            click.echo(
                f"committed revert {status['revertCommit'][:12]} to the config repo; the "
                f"reconciler deploys it on its next refresh (`conveyor app sync {name}` "
                "if none is running)"
            )
    else:
        history = str(history_id) if history_id is not None else ""
        status = _via_daemon(state, name, "rollback", id=history) or _act_and_wait(
            name,
            apps=apps,
            config_path=config_path,
            state=state,
            action=lambda r: rollback(r, name, history_id),
            timeout=timeout,
        )
    _echo_status(status, as_json)
