"""`conveyor server`: one asyncio process serving the API, Git hosting, webhooks and CI.

`build(config)` wires the pieces (CI store on `config.database`, the secret key, the admin
token, `CIService`, the FastAPI app); `serve(config)` runs uvicorn plus the CI service's
supervisor (heartbeat timeouts), its push intake (`ci.intake`: pushes git spooled that no
request queued), the local runner pool and, when given, a reconciler whose
apps are refreshed at once after a push to a hosted repository they read. Server logs pass
through `SecretFilter`, which masks every secret value the service knows.
Run by `conveyor server` (app/cmd_server.py) or `python -m conveyor.server.main`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from conveyor.ci.crypto import SecretBox, load_key
from conveyor.ci.jobuser import DEFAULT_USER, LocalIsolation, LocalMode
from conveyor.ci.kubepool_config import KubePoolConfig, KubePoolConfigError
from conveyor.ci.pool import LocalPool
from conveyor.ci.retention import DEFAULT_RETENTION_DAYS, keep_pruning
from conveyor.ci.service import CIService, ServiceConfig
from conveyor.ci.webhooks import WebhookConfig, Webhooks
from conveyor.ci.workspaces import DEFAULT_DISK_LIMIT, GIB
from conveyor.notify.config import NotifyConfig, load_notifications
from conveyor.notify.errors import NotifyConfigInvalid
from conveyor.notify.notifier import Notifier
from conveyor.server.app import create_app
from conveyor.server.auth import Auth
from conveyor.server.datadir import private_umask, secure_tree
from conveyor.server.limits import BodyLimits
from conveyor.server.runnerpools import parse_runner_pool, start_pools
from conveyor.server.state import ServerState
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from conveyor.workflow.run.masking import Masker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    database: str = ""  # SQLAlchemy URL or SQLite path; default <data>/conveyor.db
    webhook_secret: str = ""  # default: $CONVEYOR_WEBHOOK_SECRET (repos may have their own)
    github_host: str = "github.com"  # webhook clone URLs must be https://<this host>/…
    pool_min: int = 1
    pool_max: int = 2
    heartbeat_timeout: float = 30.0
    public_url: str = ""  # default http://host:port
    # reconcilers running as their own process (`conveyor reconcile --listen`): after a
    # push to a hosted repo, `POST <url>?repo=<clone url>` to each (their /refresh endpoint)
    refresh_urls: tuple[str, ...] = ()
    refresh_token_file: Path | None = None  # their bearer token, read at each call
    # where local jobs run (issue 12 #1): "user" = as the unprivileged job_user, in
    # work_dir (default: outside the data directory); "host" = as the server's own user
    local_runner: str = "user"
    job_user: str = DEFAULT_USER
    work_dir: Path | None = None
    body_limits: BodyLimits = field(default_factory=BodyLimits)  # caps per route class
    tls_cert: Path | None = None  # PEM certificate (chain): serve https (issue 12 §17)
    tls_key: Path | None = None  # its PEM private key
    runner_pools: tuple[KubePoolConfig, ...] = ()  # --runner-pool kubernetes:CONFIG
    notifications: NotifyConfig | None = None  # conveyor.yaml's `notifications:` (issue 17)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    job_disk_limit: float = DEFAULT_DISK_LIMIT / GIB  # GiB a job's work directory may use
    retention_days: float = DEFAULT_RETENTION_DAYS  # logs and artifacts of concluded runs
    retention_interval: float = 3600.0  # seconds between pruning passes


class SecretFilter(logging.Filter):
    """Masks known secret values in every record that reaches the server's handlers."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self.masker.mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def build(config: ServerConfig, *, reconciler: Any = None) -> tuple[FastAPI, ServerState]:
    data = config.data_dir.resolve()
    secure_tree(data)  # 0700/0600, existing entries included (issue 12 #14)
    store = CIStore(open_engine(config.database or data / "conveyor.db"))
    box = SecretBox(load_key(data / "secret.key", os.environ))
    public = config.public_url or f"{config.scheme}://{config.host}:{config.port}"
    service_config = ServiceConfig(
        data_dir=data,
        heartbeat_timeout=config.heartbeat_timeout,
        public_url=public,
        job_disk_limit=int(config.job_disk_limit * GIB),
        retention_days=config.retention_days,
    )

    def on_push(full_name: str, git_dir: str) -> None:
        urls = (f"{public}/git/{full_name}.git", git_dir, f"file://{git_dir}")
        if reconciler is not None:
            for url in urls:
                reconciler.trigger_repo(url)
        if config.refresh_urls:
            task = asyncio.get_running_loop().create_task(
                _refresh(config.refresh_urls, urls, config.refresh_token_file)
            )
            _pending.add(task)
            task.add_done_callback(_pending.discard)

    notifier = Notifier(config.notifications, store.deliveries) if config.notifications else None
    service = CIService(store, box, service_config, on_push=on_push, notices=notifier)
    auth = Auth(store)
    if auth.ensure_admin(data / "admin-token"):
        log.info("admin token written to %s (mode 0600)", data / "admin-token")
    secret = config.webhook_secret or os.environ.get("CONVEYOR_WEBHOOK_SECRET", "")
    hooks = Webhooks(service, WebhookConfig(global_secret=secret, github_host=config.github_host))
    state = ServerState(
        service=service,
        auth=auth,
        webhooks=hooks,
        reconciler=reconciler,
        limits=config.body_limits,
        secure_cookies=config.tls_cert is not None,
        # the first refresh endpoint's reconciler serves the UI's application pages
        reconciler_url=config.refresh_urls[0].removesuffix("/refresh")
        if config.refresh_urls
        else "",
        reconciler_token_file=str(config.refresh_token_file or ""),
        notifier=notifier,
    )
    return create_app(state), state


_pending: set[asyncio.Task[None]] = set()


async def _refresh(
    endpoints: tuple[str, ...], repos: tuple[str, ...], token_file: Path | None
) -> None:
    """Ask external reconcilers to refresh the apps reading `repos` (best effort)."""
    headers = {}
    if token_file is not None:
        try:
            headers["Authorization"] = f"Bearer {token_file.read_text().strip()}"
        except OSError as exc:
            log.warning("cannot read the reconciler's token %s: %s", token_file, exc.strerror)
    async with httpx.AsyncClient(timeout=5.0, headers=headers) as client:
        for endpoint in endpoints:
            for repo in repos:
                try:
                    reply = await client.post(endpoint, params={"repo": repo})
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                else:
                    if reply.is_success:
                        continue
                    problem = f"HTTP {reply.status_code}"
                log.warning(
                    "refresh %s failed: %s; it will catch up at its interval", endpoint, problem
                )
                break


async def serve(
    config: ServerConfig, *, reconciler: Any = None, stop: asyncio.Event | None = None
) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM through uvicorn)."""
    private_umask()  # everything the server creates from now on is owner-only
    app, state = build(config, reconciler=reconciler)
    service = state.service
    masking = SecretFilter(service.masker)
    for handler in logging.getLogger().handlers:
        handler.addFilter(masking)
    if state.notifier is not None:
        state.notifier.start()  # before recovery: what it concludes is told too
    service.recover()
    for run in service.store.runs(limit=100000):  # known secrets mask logs from the start
        owner = run["repo"].partition("/")[0]
        service.load_masks([f"org:{owner}", f"repo:{run['repo']}"])
    stop = stop or asyncio.Event()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,  # runner long-polls must not hold a shutdown
            **_tls(config),
        )
    )
    isolation = LocalIsolation(
        mode=LocalMode(config.local_runner), user=config.job_user, work_root=config.work_dir
    )
    pool = LocalPool(service, minimum=config.pool_min, maximum=config.pool_max, isolation=isolation)
    pool.prepare()  # (a server that cannot isolate its jobs does not start: CIError says why)
    pools = start_pools(service, state.auth, config.runner_pools, stop)
    tasks = [
        asyncio.create_task(service.supervise(stop, serving=lambda: server.started)),
        asyncio.create_task(pool.run(stop)),
        asyncio.create_task(
            keep_pruning(
                service.store,
                service.config.data_dir,
                stop,
                days=config.retention_days,
                every=config.retention_interval,
            )
        ),
        # pushes received and not queued (a server killed in between): now, then every 2 s
        asyncio.create_task(service.pushes.run(stop)),
        *pools,
    ]
    if reconciler is not None:
        tasks.append(asyncio.create_task(reconciler.run(interval=30.0, stop=stop)))
    log.info("conveyor server on %s://%s:%d", config.scheme, config.host, config.port)
    if config.tls_cert is None and config.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "serving plain HTTP on %s: tokens and secrets cross the network in clear; "
            "give --tls-cert and --tls-key (or put a TLS proxy in front)",
            config.host,
        )
    try:
        await server.serve()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if state.notifier is not None:
            await state.notifier.flush(timeout=5.0)  # what is in flight, briefly
            await state.notifier.aclose()
        service.store.close()


def _tls(config: ServerConfig) -> dict[str, Any]:
    """uvicorn's TLS options; both files or neither (a certificate without its key, or the
    reverse, is a configuration error rather than a silent fallback to plain HTTP)."""
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together: give both, or neither")
    if config.tls_cert is None or config.tls_key is None:
        return {}
    for path in (config.tls_cert, config.tls_key):
        if not path.is_file():
            raise ValueError(f"TLS file {path} does not exist; give a PEM file")
    return {"ssl_certfile": str(config.tls_cert), "ssl_keyfile": str(config.tls_key)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m conveyor.server.main")
    parser.add_argument("--data", type=Path, default=Path(".conveyor/server"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--database", default="")
    parser.add_argument("--pool-min", type=int, default=1)
    parser.add_argument("--pool-max", type=int, default=2)
    parser.add_argument("--heartbeat-timeout", type=float, default=30.0)
    parser.add_argument("--public-url", default="")
    parser.add_argument("--refresh-token-file", type=Path, default=None)
    parser.add_argument("--local-runner", choices=[m.value for m in LocalMode], default="user")
    parser.add_argument("--job-user", default=DEFAULT_USER)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--job-disk-limit", type=float, default=DEFAULT_DISK_LIMIT / GIB)
    parser.add_argument("--retention-days", type=float, default=DEFAULT_RETENTION_DAYS)
    parser.add_argument("--retention-interval", type=float, default=3600.0)
    parser.add_argument(
        "--refresh-url",
        action="append",
        default=[],
        help="a reconciler's refresh endpoint (http://127.0.0.1:PORT/refresh), repeatable",
    )
    parser.add_argument(
        "--body-limit",
        action="append",
        default=[],
        help="CLASS=SIZE body cap (api, logs, artifacts, git, webhook; e.g. git=1G), repeatable",
    )
    parser.add_argument("--github-host", default="github.com")
    parser.add_argument("--tls-cert", type=Path, default=None)
    parser.add_argument("--tls-key", type=Path, default=None)
    parser.add_argument("--runner-pool", action="append", default=[], help="kubernetes:CONFIG")
    parser.add_argument("--config", type=Path, default=None, help="conveyor.yaml: notifications")
    args = parser.parse_args(argv)
    try:
        limits = BodyLimits.parse(args.body_limit)
        pools = tuple(parse_runner_pool(option) for option in args.runner_pool)
        notifications = load_notifications(args.config)
    except (ValueError, KubePoolConfigError, NotifyConfigInvalid) as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = ServerConfig(
        data_dir=args.data,
        host=args.host,
        port=args.port,
        database=args.database,
        pool_min=args.pool_min,
        pool_max=args.pool_max,
        heartbeat_timeout=args.heartbeat_timeout,
        public_url=args.public_url,
        refresh_urls=tuple(args.refresh_url),
        refresh_token_file=args.refresh_token_file,
        local_runner=args.local_runner,
        job_user=args.job_user,
        work_dir=args.work_dir,
        body_limits=limits,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        github_host=args.github_host,
        job_disk_limit=args.job_disk_limit,
        retention_days=args.retention_days,
        retention_interval=args.retention_interval,
        runner_pools=pools,
        notifications=notifications,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))


if __name__ == "__main__":
    main()
