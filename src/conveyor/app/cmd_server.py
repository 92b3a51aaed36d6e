"""`conveyor server`: the platform server (API, Git hosting, webhooks, CI, runners).

Composition only: builds `conveyor.server.main.ServerConfig` from flags and runs
`serve()`. With `--apps` the reconciler runs inside the server (same `conveyor.yaml` and
state as `conveyor reconcile`, through `cmd_reconcile.open_world`), and a push to a hosted
repository refreshes the apps that read it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import click

from conveyor.app import tracing


@click.command("server")
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path),
    default=Path(".conveyor/server"),
    show_default=True,
    help="Repositories, database, secret key, admin token.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--database", default="", help="SQLAlchemy URL (default: SQLite in --data).")
@click.option(
    "--webhook-secret-file",
    type=click.Path(path_type=Path),
    default=None,
    help="GitHub webhook secret (default: $CONVEYOR_WEBHOOK_SECRET).",
)
@click.option(
    "--github-host",
    default="github.com",
    show_default=True,
    help="The GitHub (Enterprise) host whose https clone URLs webhooks may name.",
)
@click.option("--pool-min", type=int, default=1, show_default=True, help="Local runners kept.")
@click.option("--pool-max", type=int, default=2, show_default=True, help="Local runners at most.")
@click.option(
    "--heartbeat-timeout",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds without a heartbeat before a runner's run is failed.",
)
@click.option("--public-url", default="", help="URL runners use to reach this server.")
@click.option(
    "--refresh-url",
    "refresh_urls",
    multiple=True,
    help="An external reconciler's refresh endpoint, told about each hosted push.",
)
@click.option(
    "--refresh-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The bearer token for --refresh-url (conveyor reconcile writes it; read per call).",
)
@click.option(
    "--local-runner",
    type=click.Choice(["user", "host"]),
    default="user",
    show_default=True,
    help="Run local jobs as the unprivileged --job-user (needs root), or as the server's own "
    "user (host: a workflow can then read the server's key, tokens and database).",
)
@click.option(
    "--job-user", default="conveyor-job", show_default=True, help="The user local jobs run as."
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local jobs' work directories (default: <tmp>/conveyor-work-<id>, outside --data).",
)
@click.option(
    "--body-limit",
    "body_limits",
    multiple=True,
    help="CLASS=SIZE body cap: api (1M), logs (8M), artifacts (256M), git (256M), "
    "webhook (25M); e.g. --body-limit git=1G. Repeatable.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="PEM certificate (chain): serve HTTPS. Without TLS, tokens travel in clear.",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--job-disk-limit",
    type=float,
    default=10.0,
    show_default=True,
    help="GiB of disk a job's work directory may use before the job is failed.",
)
@click.option(
    "--retention-days",
    type=float,
    default=90.0,
    show_default=True,
    help="Days the logs and artifacts of concluded runs are kept (as GitHub's default).",
)
@click.option(
    "--runner-pool",
    "runner_pools",
    multiple=True,
    help="A runner pool beside the local one: kubernetes:CONFIG (one pod per job; see README).",
)
@click.option("--apps", default=None, help="Run the reconciler on these Applications.")
@click.option(
    "--config",
    "config_path",
    default=None,
    help="conveyor.yaml: the reconciler's (with --apps), and the notifications the CI "
    "service sends (its `notifications:` section).",
)
def server(  # noqa: PLR0917 - click passes options positionally
    data: Path,
    host: str,
    port: int,
    database: str,
    webhook_secret_file: Path | None,
    github_host: str,
    pool_min: int,
    pool_max: int,
    heartbeat_timeout: float,
    public_url: str,
    refresh_urls: tuple[str, ...],
    refresh_token_file: Path | None,
    local_runner: str,
    job_user: str,
    work_dir: Path | None,
    body_limits: tuple[str, ...],
    tls_cert: Path | None,
    tls_key: Path | None,
    job_disk_limit: float,
    retention_days: float,
    runner_pools: tuple[str, ...],
    apps: str | None,
    config_path: str | None,
) -> None:
    """Run the Conveyor server until Ctrl-C."""
    from conveyor.ci.kubepool_config import KubePoolConfigError
    from conveyor.notify.config import load_notifications
    from conveyor.server.limits import BodyLimits
    from conveyor.server.main import ServerConfig
    from conveyor.server.runnerpools import parse_runner_pool

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together: give both, or neither")
    try:
        limits = BodyLimits.parse(body_limits)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--body-limit") from exc
    try:
        pools = tuple(parse_runner_pool(option) for option in runner_pools)
    except KubePoolConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--runner-pool") from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tracing.setup("server")  # issue 17: only with an OTLP endpoint configured
    secret = webhook_secret_file.read_text().strip() if webhook_secret_file else ""
    config = ServerConfig(
        data_dir=data,
        host=host,
        port=port,
        database=database,
        webhook_secret=secret,
        github_host=github_host,
        pool_min=pool_min,
        pool_max=pool_max,
        heartbeat_timeout=heartbeat_timeout,
        public_url=public_url,
        refresh_urls=refresh_urls,
        refresh_token_file=refresh_token_file,
        local_runner=local_runner,
        job_user=job_user,
        work_dir=work_dir,
        body_limits=limits,
        tls_cert=tls_cert,
        tls_key=tls_key,
        job_disk_limit=job_disk_limit,
        retention_days=retention_days,
        runner_pools=pools,
        notifications=load_notifications(Path(config_path)) if config_path else None,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(config, apps=apps, config_path=config_path))


async def _run(config: object, *, apps: str | None, config_path: str | None) -> None:
    from conveyor.server.main import ServerConfig, serve

    assert isinstance(config, ServerConfig)
    if apps is None:
        await serve(config)
        return
    from conveyor.app.cmd_reconcile import close_notifier, open_world
    from conveyor.reconcile.loop import Loop

    with open_world(apps=apps, config_path=config_path, state=None, notify=True) as world:
        try:
            await serve(config, reconciler=Loop(await world.reconciler()))
        finally:
            await close_notifier(world, wait=5.0)
