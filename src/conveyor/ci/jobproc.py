"""A local job in its own process, as the job user (issue 12 #1): both ends of the pipe.

`ci.pool` starts `python -m conveyor.ci.jobproc` as the unprivileged job user
(`ci.jobuser`) with `run_in_child`, writes one line (the assignment and the work directory)
and then answers the child's calls. The child runs `ci.executor.execute` — the same code as
in-process and remote runners — with a `PipeReporter`: every `Reporter` call is one JSON
line on the child's stdout (`{"id", "call", "args"}`), answered by one line on its stdin
(`{"id", "result"}` or `{"id", "error"}`); calls may overlap (an environment gate waits
for a review while heartbeats go on). Artifact bytes travel as base64. The parent performs
each call on the in-process `LocalReporter`, so the server sees exactly what it saw when
jobs ran inside it; it never hands the child anything but the job's own assignment.

The child dies with the server (issue 18 #2): it asks the kernel for SIGKILL when its
parent dies (`PR_SET_PDEATHSIG`, set by the child itself, after the switch to the job user,
which would reset it) and then checks that the server it was started by is still its parent
(it may have died before); the steps die with the child through their guardian
(`runners.guardian`). A server that closed the pipe without dying also ends the job.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import itertools
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conveyor.ci.errors import CIError

log = logging.getLogger(__name__)

LINE_LIMIT = 1 << 31  # artifacts travel base64 in one line
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (prctl(2); the caller checks the parent
    is still there afterwards)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise CIError(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}")


class PipeReporter:
    """`executor.Reporter` over the pipes to the server process (the child's side)."""

    def __init__(self, reader: asyncio.StreamReader, out: Any) -> None:
        self.reader, self.out = reader, out
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[Any]] = {}

    async def pump(self) -> None:
        """Resolve the pending calls from the answers the server writes."""
        while line := await self.reader.readline():
            answer = json.loads(line)
            future = self.pending.pop(int(answer["id"]), None)
            if future is None or future.done():
                continue
            if "error" in answer:
                future.set_exception(CIError(str(answer["error"])))
            else:
                future.set_result(answer.get("result"))
        for future in self.pending.values():  # the server went away
            if not future.done():
                future.set_exception(CIError("the server closed the job's pipe"))

    async def _call(self, call: str, *args: Any) -> Any:
        number = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[number] = future
        self.out.write(json.dumps({"id": number, "call": call, "args": list(args)}).encode())
        self.out.write(b"\n")
        self.out.flush()
        return await future

    async def logs(self, lines: Sequence[tuple[str, str]]) -> None:
        await self._call("logs", [list(pair) for pair in lines])

    async def job(self, name: str, fields: Mapping[str, Any]) -> None:
        await self._call("job", name, dict(fields))

    async def heartbeat(self) -> str:
        return str(await self._call("heartbeat") or "")

    async def environment(self, job_name: str, environment: str) -> Mapping[str, Any]:
        return dict(await self._call("environment", job_name, environment))

    async def deployment(self, job_name: str, environment: str, url: str, result: str) -> None:
        await self._call("deployment", job_name, environment, url, result)

    async def artifact(self, name: str, data: bytes) -> None:
        await self._call("artifact", name, base64.b64encode(data).decode())

    async def fetch_artifact(self, name: str) -> bytes | None:
        data = await self._call("fetch_artifact", name)
        return None if data is None else base64.b64decode(data)

    async def complete(self, result: Mapping[str, Any]) -> None:
        await self._call("complete", dict(result))


async def answer(reporter: Any, call: str, args: list[Any]) -> Any:
    """Perform one of the child's calls on the server's `LocalReporter` (the parent's side)."""
    if call == "logs":
        return await reporter.logs([(str(job), str(text)) for job, text in args[0]])
    if call == "artifact":
        return await reporter.artifact(str(args[0]), base64.b64decode(args[1]))
    if call == "fetch_artifact":
        data = await reporter.fetch_artifact(str(args[0]))
        return None if data is None else base64.b64encode(data).decode()
    if call in {"job", "heartbeat", "environment", "deployment", "complete"}:
        return await getattr(reporter, call)(*args)
    raise CIError(f"a job process asked for {call!r}, which is not a reporter call")


async def _child() -> None:
    # imported here, after `die_with_parent` in `main`: the server may die while the engine
    # loads, and then this process must die with it
    from conveyor.ci.executor import execute  # noqa: PLC0415 (after die_with_parent)

    protocol = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # whatever else prints goes to the server's log, never into the protocol
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    line = await reader.readline()
    if not line:
        return  # the server died before handing the job over
    first = json.loads(line)
    if os.getppid() != int(first.get("server") or os.getppid()):
        return  # … or right after: nobody would kill this process when it dies
    reporter = PipeReporter(reader, protocol)
    pump = asyncio.ensure_future(reporter.pump())
    main = asyncio.ensure_future(
        execute(
            first["assignment"],
            reporter,
            work_dir=Path(first["work_dir"]),
            heartbeat=float(first.get("heartbeat", 0.5)),
        )
    )
    loop.add_signal_handler(signal.SIGTERM, main.cancel)  # the engine ends the job's processes
    pump.add_done_callback(lambda _: main.cancel())  # the server closed the pipe: end the job
    try:
        await main
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    die_with_parent()  # first thing: the server may be killed at any moment
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(_child())


if __name__ == "__main__":
    main()
