"""A raw HTTP/1.0 GET for tests (stdlib only, one connection per request)."""

from __future__ import annotations

import asyncio


async def get(port: int, path: str = "/", host: str = "127.0.0.1", timeout: float = 2.0) -> str:
    """The body of `GET path` on host:port; raises OSError/TimeoutError/ValueError on failure."""

    async def once() -> str:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] + b" ":
            raise ValueError(f"bad response: {head[:80]!r}")
        return body.decode().strip()

    return await asyncio.wait_for(once(), timeout)


async def wait_for(port: int, want: str, timeout: float = 20.0) -> None:
    """Poll until the body equals `want`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = ""
    while loop.time() < deadline:
        try:
            last = await get(port)
            if last == want:
                return
        except (OSError, TimeoutError, ValueError) as exc:
            last = repr(exc)
        await asyncio.sleep(0.05)
    raise AssertionError(f"port {port} never served {want!r}; last: {last}")
