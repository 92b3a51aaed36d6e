"""Large request bodies sent over a raw socket, for the body-limit attack test and
`bench/body_flood.py`: the body streams from a generator (the client never holds it), and
the answer is read while the body is still being sent, so a server that refuses early is
seen refusing early."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CHUNK = b"x" * (256 * 1024)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    status: int  # 0: the connection closed without an answer
    text: str
    sent: int  # body bytes the server took before answering or closing
    seconds: float


def post(
    port: int,
    path: str,
    size: int,
    *,
    chunked: bool = False,
    declared: int | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST `size` bytes to 127.0.0.1:`port`; `declared` lies in Content-Length."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {size if declared is None else declared}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    start = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = [0]
    stop = threading.Event()

    def send_body() -> None:
        with contextlib.suppress(OSError):
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            left = size
            while left > 0 and not stop.is_set():
                piece = CHUNK[: min(left, len(CHUNK))]
                framed = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                sock.sendall(framed)
                sent[0] += len(piece)
                left -= len(piece)
            if chunked and not stop.is_set():
                sock.sendall(b"0\r\n\r\n")

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    reply = b""
    with contextlib.suppress(OSError):
        while not _complete(reply):
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    stop.set()
    sock.close()
    sender.join(timeout=10)
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return Answer(
        status=status,
        text=body.decode(errors="replace"),
        sent=sent[0],
        seconds=time.monotonic() - start,
    )


def _complete(reply: bytes) -> bool:
    """Headers and a Content-Length's worth of body received (else: read until close)."""
    head, found, body = reply.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def rss(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of `pid` in bytes (VmRSS, VmHWM)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]
