"""`conveyor demo`: the scripted tour of a running `conveyor up` (`conveyor.app.tour`).

commit to demo/app → CI run → image in the registry → promoted to dev → dev serves the new
version → promoted to staging → staging serves it → prod waits for an approval (and still
serves the old version) → approve → prod serves it → a prod container killed by hand is
healed → `conveyor app rollback demo-prod --revert` brings the previous version back.
With tracing configured (OTEL_EXPORTER_OTLP_ENDPOINT), it ends with the commit's trace id.
Each stage prints what it saw and how long it took; the first stage that does not happen
in time stops the tour with what was seen instead (exit code 1).
"""

from __future__ import annotations

from pathlib import Path

import click

from conveyor.app import platform, tracing
from conveyor.app.tour import Pushed, Tour, TourError
from conveyor.core.tracing import commit_trace


def run_tour(tour: Tour, *, version: str | None = None) -> Pushed:
    """The tour's stages in order; the commit it pushed."""
    before = {env: tour.served(env) for env in tour.info.environments}
    pushed = tour.commit(version)
    run = tour.wait_run(pushed.sha)
    tour.wait_image(pushed.sha)
    tour.wait_served("dev", pushed.version, why=f"promoted to dev: dev serves {pushed.version}")
    tour.wait_served("staging", pushed.version, why=f"promoted to staging: serves {pushed.version}")
    tour.wait_approval(run["id"], "prod")
    if tour.served("prod") != before["prod"]:
        raise TourError(f"prod changed before the approval: serves {tour.served('prod')!r}")
    tour.approve(run["id"], "prod")
    tour.wait_served("prod", pushed.version, why=f"approved: prod serves {pushed.version}")
    tour.wait_run_concluded(run["id"])
    killed = tour.kill_one("prod", f"{tour.info.registry}/demo/app:{pushed.sha}")
    tour.wait_healed("prod", killed, pushed.version)
    tour.rollback_revert("prod")
    tour.wait_served("prod", before["prod"], why=f"rolled back: prod serves {before['prod']}")
    return pushed


@click.command("demo")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--version", "version", default=None, help="The version to release (default: new).")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Per stage (s).")
def demo(state_dir: Path | None, version: str | None, timeout: float) -> None:
    """Run the scripted tour against `conveyor up`: commit → CI → dev → staging → prod."""
    tour = Tour(platform.load(state_dir), timeout=timeout, echo=click.echo)
    try:
        pushed = run_tour(tour, version=version)
    except TourError as exc:
        click.echo(f"✗ {exc}", err=True)
        raise SystemExit(1) from exc
    finally:
        tour.close()
    total = sum(step.seconds for step in tour.steps)
    click.echo(f"\nThe whole loop ran in {total:.1f}s. See it all with `conveyor status`.")
    if tracing.endpoint():  # issue 17: the commit's trace, as the platform exported it
        trace = commit_trace(pushed.sha).trace_id
        click.echo(f"Its trace, from the push to prod: trace id {trace:032x}")


if __name__ == "__main__":
    demo()
