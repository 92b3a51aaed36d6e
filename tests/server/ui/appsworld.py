"""The web UI pointed at a real reconciler (`tests.app.reconcilerworld`): the server's
`reconciler_url` and token file name the reconciler endpoint, as `conveyor up` sets them.

`AppsUI.ui` is the UI (`tests.server.ui.conftest.UI`), `AppsUI.rec` the live reconciler.
The config repo is hosted by the UI's server (`demo/config`), so the app page can read
its promotion history too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.app.reconcilerworld import LiveReconciler, live_reconciler
from tests.app.reconcilerworld import secret as world_secret
from tests.gitutil import git
from tests.reconcile.conftest import ConfigRepo
from tests.server.ui.conftest import UI

PASSWORD = "hunter2-never-in-a-page"
HOSTED = "demo/config"


def secret(value: str = PASSWORD) -> dict[str, Any]:
    return world_secret(value)


@dataclass
class AppsUI:
    ui: UI
    rec: LiveReconciler

    @property
    def repo(self) -> ConfigRepo:
        return self.rec.world.repo


def hosted_repo(ui: UI, root: Path) -> ConfigRepo:
    """The server's hosted `demo/config` with a work clone on branch main."""
    origin = ui.state.service.create_repo(HOSTED)
    work = root / "config-work"
    git(root, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-qb", "main")
    return ConfigRepo(origin=origin, work=work)


@contextmanager
def apps_ui(ui: UI, tmp_path: Path) -> Iterator[AppsUI]:
    """The UI and a live reconciler over the hosted config repo (apps not started yet)."""
    repo = hosted_repo(ui, tmp_path)
    with live_reconciler(tmp_path, repo) as rec:
        here = AppsUI(ui=ui, rec=rec)
        yield here


def point_at(ui: UI, rec: LiveReconciler) -> None:
    """Give the UI's server the reconciler's address and token file."""
    assert rec.token_file is not None
    ui.state.reconciler_url = rec.url
    ui.state.reconciler_token_file = str(rec.token_file)
