"""`conveyor status`: one screen with the platform's runs, environments (which image runs
where, sync and health, the version each URL serves) and pending approvals.

Reads `platform.json` (`conveyor.app.platform`) to find the running `conveyor up`, the
server's REST API for runs and approvals (`conveyor.app.api`), and `conveyor.app.overview`
for the environments. A part that cannot be read says why instead of failing the screen.
`--json` prints the same facts as one JSON document (used by tests and scripts).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from conveyor.app import overview, platform
from conveyor.app.api import Api, ApiError


def gather(info: platform.PlatformInfo, limit: int) -> dict[str, Any]:
    facts: dict[str, Any] = {"server": info.server_url, "registry": info.registry}
    with Api(info.server_url, info.token()) as api:
        try:
            facts["runs"] = api.runs(limit=limit)
        except ApiError as exc:
            facts["runs_error"] = str(exc)
        try:
            facts["approvals"] = api.pending_approvals()
        except ApiError as exc:
            facts["approvals_error"] = str(exc)
    try:
        facts["environments"] = [asdict(v) for v in overview.environments(info)]
    except Exception as exc:  # the store may be mid-migration or absent: say so
        facts["environments_error"] = f"{type(exc).__name__}: {exc}"
    return facts


def _age(stamp: Any) -> str:
    try:
        seconds = max(0, int(time.time() - float(stamp)))
    except (TypeError, ValueError):
        return ""
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def render(facts: dict[str, Any]) -> list[str]:
    lines = [f"Conveyor at {facts['server']}  (registry {facts['registry']})", "", "RUNS"]
    if "runs_error" in facts:
        lines.append(f"  unavailable: {facts['runs_error']}")
    for run in facts.get("runs", []):
        state = run.get("conclusion") or run.get("status", "")
        lines.append(
            f"  #{run.get('id', '?'):<5} {run.get('repo', ''):<12} "
            f"{run.get('workflow_name', run.get('workflow', '')):<22} "
            f"{str(run.get('sha', ''))[:8]:<9} {state:<12} {_age(run.get('created'))}"
        )
    if not facts.get("runs") and "runs_error" not in facts:
        lines.append("  (no runs yet)")
    lines += ["", "ENVIRONMENTS"]
    if "environments_error" in facts:
        lines.append(f"  unavailable: {facts['environments_error']}")
    lines.append(f"  {'ENV':<8} {'SYNC':<10} {'HEALTH':<12} {'REVISION':<13} {'SERVES':<14} IMAGE")
    for env in facts.get("environments", []):
        image = overview.image_text(env["images"], env["draining"])
        lines.append(
            f"  {env['env']:<8} {env['sync']:<10} {env['health']:<12} {env['revision']:<13} "
            f"{env['served'] or '-':<14} {image} ({env['running']} running)  {env['url']}"
        )
        if env["message"]:
            lines.append(f"           {env['message']}")
    lines += ["", "PENDING APPROVALS"]
    if "approvals_error" in facts:
        lines.append(f"  unavailable: {facts['approvals_error']}")
    for item in facts.get("approvals", []):
        lines.append(
            f"  run #{item.get('run_id', '?')} waits for approval to {item.get('environment')}"
            f"  ->  conveyor approve {item.get('run_id', '?')} --env {item.get('environment')}"
        )
    if not facts.get("approvals") and "approvals_error" not in facts:
        lines.append("  (none)")
    return lines


@click.command("status")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--limit", type=int, default=10, show_default=True, help="Runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
def status(state_dir: Path | None, limit: int, as_json: bool) -> None:
    """Runs, environments (what runs where, sync, health) and pending approvals."""
    facts = gather(platform.load(state_dir), limit)
    if as_json:
        click.echo(json.dumps(facts, indent=2, default=str))
        return
    click.echo("\n".join(render(facts)))


if __name__ == "__main__":
    status()
