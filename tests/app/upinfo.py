"""A `PlatformInfo` as `conveyor up` writes it, for tests of what `up` prints and starts."""

from __future__ import annotations

from pathlib import Path

from conveyor.app import platform


def platform_info(state: Path) -> platform.PlatformInfo:
    return platform.PlatformInfo(
        state_dir=str(state),
        server_url="http://127.0.0.1:8080",
        registry="127.0.0.1:5000",
        token_file=str(state / "server" / "admin-token"),
        state_db=str(state / "state.db"),
        reconciler_url="http://127.0.0.1:8421",
        environments=platform.demo_environments(),
        pid=1,
    )
