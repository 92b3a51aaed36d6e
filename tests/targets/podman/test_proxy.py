"""The Service proxy in-process: round-robin over ready backends, failover, reload."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from conveyor.targets.podman.proxy import Listener, Proxy

from .conftest import free_port
from .http import get


async def backend(body: str) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.0 200 OK\r\n\r\n{body}".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


def test_round_robin_skips_a_dead_backend_and_remembers_it() -> None:
    async def scenario() -> None:
        a, port_a = await backend("a")
        b, port_b = await backend("b")
        dead = ("127.0.0.1", free_port())  # nothing listens: refused
        listener = Listener("127.0.0.1", free_port())
        await listener.start()
        listener.backends = [("127.0.0.1", port_a), dead, ("127.0.0.1", port_b)]
        try:
            answers = [await get(listener.port) for _ in range(9)]
            assert set(answers) == {"a", "b"}  # every request answered
            assert dead in listener._cooling  # tried last from now on
        finally:
            assert listener.server is not None
            listener.server.close()
            a.close()
            b.close()

    asyncio.run(scenario())


def test_routes_file_reload_adds_and_drops_listeners(tmp_path: Path) -> None:
    async def scenario() -> None:
        a, port_a = await backend("a")
        port = free_port()
        proxy = Proxy(tmp_path)
        routes = {
            "generation": 1,
            "listeners": [{"bind": "127.0.0.1", "port": port, "backends": [["127.0.0.1", port_a]]}],
        }
        (tmp_path / "routes.json").write_text(json.dumps(routes))
        await proxy.load()
        try:
            assert await get(port) == "a"
            status = json.loads((tmp_path / "status.json").read_text())
            assert (status["generation"], status["errors"]) == (1, {})
            (tmp_path / "routes.json").write_text(json.dumps({"generation": 2, "listeners": []}))
            await proxy.load()
            assert json.loads((tmp_path / "status.json").read_text())["generation"] == 2
            assert proxy.listeners == {}
        finally:
            for listener in proxy.listeners.values():
                if listener.server is not None:
                    listener.server.close()
            a.close()

    asyncio.run(scenario())
