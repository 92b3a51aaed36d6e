"""A real reconciler behind its real HTTP endpoint, for tests of the endpoint's views and
of the web UI's application pages: a Git config repo, the memory target, a SQLite store,
`reconcile.Reconciler` held by a `Loop`, and `app.reconcilerhttp.listen` on 127.0.0.1,
all on one event loop in a thread of its own (the reconciler's locks belong to it).

`live_reconciler(tmp_path)` is the context manager; `LiveReconciler.run(coro)` runs a
coroutine on that loop (reconcile passes, syncs) and returns its result.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from conveyor.app.reconcilerhttp import listen
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.store import Store
from conveyor.targets.memory import MemoryTarget
from tests.reconcile.conftest import ConfigRepo, World, config_repo

T = TypeVar("T")
TOKEN = "reconciler-test-token"


@dataclass
class LiveReconciler:
    world: World
    loop: asyncio.AbstractEventLoop
    url: str = ""
    token_file: Path | None = None
    reconciler: Reconciler | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, *docs: str) -> Reconciler:
        """Build the reconciler for these Application documents, reconcile once and serve
        its endpoint; returns the reconciler."""
        self.reconciler = self.run(_built(self.world, docs))
        self.run(self.reconciler.reconcile_all())
        server, self.url = self.run(listen(Loop(self.reconciler), "127.0.0.1:0", TOKEN))
        self._server = server
        return self.reconciler

    def get(self, path: str, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return httpx.get(self.url + path, params=params, headers=headers, timeout=60)

    def post(self, path: str, **params: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        return httpx.post(self.url + path, params=params, headers=headers, timeout=60)

    def close(self) -> None:
        server = getattr(self, "_server", None)
        if server is not None:
            self.run(_closed(server))  # on its own loop: asyncio.Server is not thread-safe


async def _built(world: World, docs: tuple[str, ...]) -> Reconciler:
    """The reconciler, made on the endpoint's loop (its semaphore binds to that loop)."""
    return world.reconciler(*docs)


async def _closed(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()


@contextmanager
def live_reconciler(tmp_path: Path, repo: ConfigRepo | None = None) -> Iterator[LiveReconciler]:
    """A live reconciler over a new config repo, or over `repo`."""
    root = tmp_path / "reconciler"
    root.mkdir()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    store = Store.open(root / "state.db")
    world = World(
        repo=repo or config_repo(root), target=MemoryTarget(), store=store, cache=root / "cache"
    )
    live = LiveReconciler(world=world, loop=loop)
    live.token_file = root / "reconciler.token"
    live.token_file.write_text(TOKEN + "\n")
    try:
        yield live
    finally:
        live.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        store.close()


def secret(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": value},
    }


def leaks(text: str, *values: str) -> list[str]:
    """The secret values (plain or base64) that appear in `text`."""
    forms = [(v, base64.b64encode(v.encode()).decode()) for v in values]
    return [f for pair in forms for f in pair if f in text]
