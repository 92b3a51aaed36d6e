"""`conveyor up`: the README's main command. Runs the whole loop on this machine.

Starts, as child processes it supervises (`conveyor.app.supervisor`): the local OCI
registry (`conveyor.app.registry`), `conveyor server` (Git hosting, CI, approvals, REST API)
and the reconciler with the Podman target (`conveyor reconcile`, reading the Applications
of the hosted `demo/config`). On first start it seeds the hosted repositories `demo/app` and
`demo/config` from `examples/` and the demo's first image, sets the demo's variables,
secrets and environments (prod requires an approval) through the server's API
(`conveyor.app.setup`), writes `platform.json` (`conveyor.app.platform`) for `conveyor
demo` / `conveyor status`, and prints first the web UI's URL and where the admin token to
sign in with is (issue 15), then the other URLs and the next steps. Ctrl-C or SIGTERM stops
every child cleanly (reverse order) and says that the environments keep serving (their
containers and Service proxy are no children of `up`; `conveyor down` removes them);
running `up` again while one runs prints where it is and exits; a later `up` reuses the
state directory and never re-seeds existing repositories.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

import click

from conveyor.app import platform, seed, setup
from conveyor.app.registry import registry_service
from conveyor.app.supervisor import Readiness, ServiceSpec, Supervisor, SupervisorError
from conveyor.core.errors import UserError
from conveyor.notify.config import load_notifications

log = logging.getLogger(__name__)


def _examples_dir(explicit: Path | None) -> Path:
    candidates = [explicit] if explicit else [Path.cwd() / "examples"]
    candidates.append(Path(__file__).resolve().parents[3] / "examples")
    for candidate in candidates:
        if candidate and (candidate / "demo-app").is_dir() and (candidate / "demo-config").is_dir():
            return candidate
    raise UserError(
        "no examples/demo-app and examples/demo-config found",
        hint="run `make up` from the Conveyor checkout, or pass --examples DIR",
    )


def _child_env(state_dir: Path) -> dict[str, str]:
    """Children find `conveyor` (CI steps call it) and share Podman's configuration."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {
        "PATH": bin_dir if not path else f"{bin_dir}{os.pathsep}{path}",
        "CONVEYOR_HOME": str(state_dir),
        "PYTHONUNBUFFERED": "1",
    }


def server_service(
    state_dir: Path, host: str, port: int, refresh_url: str, notifications: Path | None = None
) -> ServiceSpec:
    """`conveyor server`; after each hosted push it asks the reconciler to refresh the apps
    that read the pushed repository (`--refresh-url`), so a promotion deploys at once. With
    `notifications`, that file's `notifications:` section is its `--config`."""
    argv: tuple[str, ...] = (
        sys.executable,
        "-m",
        "conveyor.app",
        "server",
        "--data",
        str(platform.server_data(state_dir)),
        "--host",
        host,
        "--port",
        str(port),
        "--refresh-url",
        refresh_url,
        "--refresh-token-file",  # written by the reconciler (its cache is state_dir/cache)
        str(state_dir / "reconciler.token"),
    )
    if notifications is not None:
        argv += ("--config", str(notifications))
    return ServiceSpec(
        name="server",
        argv=argv,
        log=state_dir / "logs" / "server.log",
        env=_child_env(state_dir),
        ready=Readiness(url=f"http://{host}:{port}/healthz", timeout=60.0),
    )


def reconciler_service(
    state_dir: Path,
    info: platform.PlatformInfo,
    port: int,
    read_token: str,
    notifications: Path | None = None,
) -> ServiceSpec:
    config = state_dir / "conveyor.yaml"
    config.write_text(
        "targets:\n"
        "  - name: local\n"
        "    type: podman\n"
        f"    stateDir: {state_dir / 'podman-target'}\n"
        f"    insecureRegistries: [{info.registry}]\n"
        f"state: {info.state_db}\n"
        f"cache: {state_dir / 'cache'}\n"
    )
    argv: tuple[str, ...] = (
        sys.executable,
        "-m",
        "conveyor.app",
        "reconcile",
        "--apps",
        info.git_url(info.config_repo),
        "--config",
        str(config),
        "--interval",
        "2s",
        "--listen",
        f"127.0.0.1:{port}",
    )
    if notifications is not None:
        argv += ("--notifications", str(notifications))
    return ServiceSpec(
        name="reconciler",
        argv=argv,
        log=state_dir / "logs" / "reconciler.log",
        # fetches the hosted config repo with a read-only token, sent by git as a header
        env={**seed.auth_env(read_token, {}), **_child_env(state_dir)},
        ready=Readiness(url=f"http://127.0.0.1:{port}/healthz", timeout=60.0),
    )


def _check_ports_free(ports: dict[str, tuple[str, int]]) -> None:
    """Refuse to start beside something already listening (its readiness would lie)."""
    for flag, address in ports.items():
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(address) == 0:
                raise UserError(
                    f"{address[0]}:{address[1]} is already in use",
                    hint=f"stop what listens there, or pass {flag} with a free port",
                )


_lock = platform.lock  # one `up` per state directory; `down` takes the same lock


class _Stop:
    """SIGINT/SIGTERM: interrupt start-up at once; once running, stop after the current check."""

    def __init__(self) -> None:
        self.requested = False
        self.running = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if not self.running:
            raise KeyboardInterrupt


def shown(path: str | Path) -> str:
    """`path` as the user may type it here: relative to the working directory when inside."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def banner(info: platform.PlatformInfo, seeded: list[str]) -> str:
    """What `up` prints once every service is ready; its first line is the web UI."""
    envs = "\n".join(f"    {env:<8} {url}/version" for env, url in info.environments.items())
    lines = [
        "",
        f"Conveyor is up. Web UI: {info.server_url}/ "
        f"(sign in with the token in {shown(info.token_file)})",
        f"  server      {info.server_url}   (API docs: {info.server_url}/docs)",
        f"  registry    {info.registry}",
        f"  admin token {info.token_file}",
        f"  demo/app    {info.git_url(info.app_repo)}",
        f"  demo/config {info.git_url(info.config_repo)}",
        "  environments:",
        envs,
    ]
    if seeded:
        lines.append(f"  seeded: {', '.join(seeded)}")
    lines += [
        "",
        "Next steps:",
        "  conveyor demo                    # the tour: commit -> CI -> dev -> staging -> prod",
        "  conveyor status                  # runs, environments, pending approvals",
        "  conveyor approve RUN --env prod  # let a waiting run deploy to prod",
        "  conveyor app list                # the reconciler's view of every environment",
        f"  git clone {info.git_url(info.app_repo)}   (password: the admin token)",
        "",
        "Press Ctrl-C to stop everything.",
    ]
    return "\n".join(lines)


def farewell(info: platform.PlatformInfo) -> str:
    """What `up` says once its own services have stopped: the workloads have not."""
    envs = ", ".join(f"{env} {url}" for env, url in info.environments.items())
    return (
        "Stopped the server, the registry and the reconciler.\n"
        f"The environments keep serving ({envs}): their containers and Service proxy run\n"
        "on their own, and the next `conveyor up` adopts them. To remove them as well:\n"
        f"  conveyor down --state-dir {info.state_dir}"
    )


def checked_notifications(path: Path | None) -> Path | None:
    """`--notifications`, absolute, once its section parses (errors name its file, line and
    column); a file without the section is refused rather than ignored."""
    if path is None:
        return None
    path = path.resolve()
    if load_notifications(path) is None:
        raise UserError(
            f"--notifications: {path} has no notifications: section",
            hint="start the file with `notifications:` (destinations, subscriptions…)",
        )
    return path


def start_platform(
    sup: Supervisor,
    *,
    state_dir: Path,
    examples: Path,
    host: str,
    port: int,
    registry_port: int,
    reconciler_port: int,
    notifications: Path | None = None,
) -> tuple[platform.PlatformInfo, list[str]]:
    """Start every child, seed on first start; returns the info and what was seeded.
    `notifications` (checked by the caller) configures both the server's and the
    reconciler's notifications."""
    _check_ports_free(
        {"--port": (host, port), "--registry-port": ("127.0.0.1", registry_port),
         "--reconciler-port": ("127.0.0.1", reconciler_port)}
    )  # fmt: skip
    registry = f"127.0.0.1:{registry_port}"
    server_url = f"http://{host}:{port}"
    sup.start(registry_service(state_dir, registry))
    refresh_url = f"http://127.0.0.1:{reconciler_port}/refresh"
    sup.start(server_service(state_dir, host, port, refresh_url, notifications))
    info = platform.PlatformInfo(
        state_dir=str(state_dir),
        server_url=server_url,
        registry=registry,
        token_file=str(setup.admin_token_file(state_dir)),
        state_db=str(state_dir / "state.db"),
        reconciler_url=f"http://127.0.0.1:{reconciler_port}",
        environments=platform.demo_environments(),
        pid=os.getpid(),
    )
    seeded = setup.seed_platform(info, examples)
    from conveyor.clients.podman import Podman

    podman = Podman(state_dir=state_dir / "podman", insecure_registries=[registry])
    asyncio.run(seed.seed_image(examples / "demo-app", registry, podman))
    read_token = setup.reconciler_token(info)
    sup.start(reconciler_service(state_dir, info, reconciler_port, read_token, notifications))
    platform.save(info)
    return info, seeded


@click.command("up")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=platform.DEFAULT_STATE_DIR,
    show_default=True,
    help="Where the platform keeps repositories, images, state and logs.",
)
@click.option("--examples", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True, help="Server port.")
@click.option("--registry-port", type=int, default=5000, show_default=True)
@click.option("--reconciler-port", type=int, default=8421, show_default=True)
@click.option(
    "--notifications",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A YAML file with a notifications: section (as in conveyor.yaml) for the server "
    "and the reconciler.",
)
def up(  # noqa: PLR0917 - click passes options positionally
    state_dir: Path,
    examples: Path | None,
    host: str,
    port: int,
    registry_port: int,
    reconciler_port: int,
    notifications: Path | None,
) -> None:
    """Run the platform on this machine: server, registry and reconciler, with the demo."""
    notifications = checked_notifications(notifications)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(state_dir)
    if lock is None:
        try:
            running = platform.load(state_dir)
        except UserError:
            click.echo(f"Another `conveyor up` (or `down`) is at work in {state_dir}.")
            return
        click.echo(
            f"Conveyor is already running (pid {running.pid}): open {running.server_url}/ "
            f"and sign in with the token in {shown(running.token_file)}"
        )
        return
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    sup = Supervisor(state_dir / "run")
    info: platform.PlatformInfo | None = None
    try:
        info, seeded = start_platform(
            sup,
            state_dir=state_dir,
            examples=_examples_dir(examples),
            host=host,
            port=port,
            registry_port=registry_port,
            reconciler_port=reconciler_port,
            notifications=notifications,
        )
        click.echo(banner(info, seeded))
        stop.running = True
        while not stop.requested:
            sup.check()
            time.sleep(0.3)
        click.echo("stopping…", err=True)
    except SupervisorError as exc:
        raise UserError(str(exc), hint=f"see the logs in {state_dir / 'logs'}") from exc
    except KeyboardInterrupt:
        click.echo("interrupted; stopping…", err=True)
    finally:
        platform.remove(state_dir)
        sup.stop_all()
        os.close(lock)
        if info is not None:
            click.echo(farewell(info), err=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
