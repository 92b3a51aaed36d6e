"""Where the running platform is: `platform.json` in `conveyor up`'s state directory.

`conveyor up` writes it once everything is ready (and removes it on a clean stop);
`conveyor demo`, `conveyor status`, the end-to-end test and `bench/commit_to_running.py`
read it to find the server, the registry, the admin token's file, the hosted demo
repositories and the URL each environment is served on. Plain data, JSON on disk.
`lock()` is the one-`up`-per-state-directory lock, which `conveyor down` takes too.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from conveyor.core.errors import UserError

FILE_NAME = "platform.json"
DEFAULT_STATE_DIR = Path(".conveyor")
#: The environments of the demo, in promotion order, and the port each is served on.
DEMO_ENVIRONMENTS = {"dev": 30081, "staging": 30082, "prod": 30083}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformInfo:
    state_dir: str
    server_url: str
    registry: str  # host:port
    token_file: str
    state_db: str  # the reconciler's store (for `conveyor app …`)
    reconciler_url: str = ""  # the reconciler's /metrics and /refresh endpoint, if separate
    app_repo: str = "demo/app"
    config_repo: str = "demo/config"
    environments: dict[str, str] = field(default_factory=dict)  # env -> URL it serves on
    pid: int = 0

    def git_url(self, repo: str) -> str:
        return f"{self.server_url}/git/{repo}.git"

    def token(self) -> str:
        return Path(self.token_file).read_text().strip()

    def app_name(self, env: str) -> str:
        return f"demo-{env}"


def server_data(state_dir: Path) -> Path:
    """The server's `--data` directory under `conveyor up`'s state directory."""
    return state_dir / "server"


def server_database(state_dir: Path) -> Path:
    """The server's database there (its default, `<data>/conveyor.db`)."""
    return server_data(state_dir) / "conveyor.db"


def state_dir_of_up() -> Path:
    """The state directory `conveyor up` uses when none is given (`CONVEYOR_UP_DIR`)."""
    return Path(os.environ.get("CONVEYOR_UP_DIR") or DEFAULT_STATE_DIR)


def demo_environments(host: str = "127.0.0.1") -> dict[str, str]:
    return {env: f"http://{host}:{port}" for env, port in DEMO_ENVIRONMENTS.items()}


def save(info: PlatformInfo) -> Path:
    path = Path(info.state_dir) / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n")
    tmp.replace(path)
    return path


def load(state_dir: Path | None = None) -> PlatformInfo:
    """The running platform's info, or a `UserError` that says to start it."""
    base = state_dir or state_dir_of_up()
    path = base / FILE_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise UserError(
            f"no running platform found ({path} is missing)",
            hint="start it with `conveyor up` (or pass --state-dir)",
        ) from exc
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}", hint="restart `conveyor up`") from exc
    return PlatformInfo(**data)


def remove(state_dir: Path) -> None:
    (state_dir / FILE_NAME).unlink(missing_ok=True)


def lock(state_dir: Path) -> int | None:
    """An exclusive lock on `state_dir/up.lock`; None when another holds it (a running
    `conveyor up`, or a `conveyor down` at work)."""
    fd = os.open(state_dir / "up.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
