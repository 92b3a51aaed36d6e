"""Readiness, liveness and startup probes, run by the target from the host side.

Podman 4.3 without systemd never runs healthchecks by itself, and busybox images have no
curl, so the target probes each replica itself: `httpGet` and `tcpSocket` connect from the
host to the container's address on its namespace network; `exec` runs `podman exec`.
Kubernetes' timing fields are honoured (`initialDelaySeconds`, `periodSeconds`,
`timeoutSeconds`, `successThreshold`, `failureThreshold`). One deviation, on purpose: until
a replica's first readiness success the readiness probe repeats every
`min(periodSeconds, 0.25 s)`, so a rollout does not idle a whole period on a server that
needed a few milliseconds to bind.

`ReplicaHealth` is driven by `conveyor.targets.podman.healing.Healer`, one probe task
per running replica.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FAST_FIRST_READY = 0.25

#: Runs `podman exec <container> argv...` and returns the exit code.
ExecRunner = Callable[[str, Sequence[str], float], Awaitable[int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeSpec:
    action: str  # httpGet | tcpSocket | exec
    port: int
    path: str
    command: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, raw: Mapping[str, Any], ports: Mapping[str, int]) -> ProbeSpec:
        action = next(a for a in ("httpGet", "tcpSocket", "exec") if a in raw)
        body = raw[action] or {}
        port = body.get("port", 0)
        return cls(
            action=action,
            port=int(ports.get(port, 0))
            if isinstance(port, str) and not port.isdigit()
            else int(port),
            path=str(body.get("path", "/")),
            command=tuple(str(a) for a in body.get("command") or ()),
            headers=tuple((h["name"], h["value"]) for h in body.get("httpHeaders") or ()),
            initial_delay=float(raw.get("initialDelaySeconds", 0)),
            period=float(raw.get("periodSeconds", 10)),
            timeout=float(raw.get("timeoutSeconds", 1)),
            success_threshold=int(raw.get("successThreshold", 1)),
            failure_threshold=int(raw.get("failureThreshold", 3)),
        )


async def _http(ip: str, spec: ProbeSpec) -> bool:
    reader, writer = await asyncio.open_connection(ip, spec.port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in spec.headers)
        writer.write(f"GET {spec.path} HTTP/1.0\r\nHost: {ip}\r\n{head}\r\n".encode())
        await writer.drain()
        status = (await reader.readline()).split()
        return len(status) >= 2 and status[1].isdigit() and 200 <= int(status[1]) < 400
    finally:
        writer.close()


async def _tcp(ip: str, spec: ProbeSpec) -> bool:
    _reader, writer = await asyncio.open_connection(ip, spec.port)
    writer.close()
    return True


async def run_once(spec: ProbeSpec, ip: str, container: str, exec_runner: ExecRunner) -> bool:
    """One probe attempt: True on success; timeouts and errors are failures."""
    try:
        if spec.action == "exec":
            return await exec_runner(container, spec.command, spec.timeout) == 0
        check = _http if spec.action == "httpGet" else _tcp
        return await asyncio.wait_for(check(ip, spec), spec.timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False


@dataclass(slots=True, kw_only=True)
class ProbeState:
    """Kubernetes threshold bookkeeping for one probe of one replica."""

    spec: ProbeSpec
    ok: bool
    successes: int = 0
    failures: int = 0
    next_at: float = 0.0
    ever_ok: bool = False

    def record(self, success: bool, now: float) -> None:
        if success:
            self.successes, self.failures = self.successes + 1, 0
            if self.successes >= self.spec.success_threshold:
                self.ok = self.ever_ok = True
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= self.spec.failure_threshold:
                self.ok = False
        period = self.spec.period
        self.next_at = now + (min(period, FAST_FIRST_READY) if not self.ever_ok else period)


@dataclass(slots=True, kw_only=True)
class ReplicaHealth:
    """What the probes say about one replica: started, ready, and whether to restart it."""

    readiness: ProbeState | None
    liveness: ProbeState | None
    startup: ProbeState | None

    @classmethod
    def of(cls, container: Mapping[str, Any], started: float, *, ready: bool) -> ReplicaHealth:
        ports = {
            str(p.get("name")): int(p["containerPort"])
            for p in container.get("ports") or ()
            if p.get("name")
        }

        def state(key: str, ok: bool) -> ProbeState | None:
            raw = container.get(key)
            if raw is None:
                return None
            spec = ProbeSpec.of(raw, ports)
            return ProbeState(spec=spec, ok=ok, ever_ok=ok, next_at=started + spec.initial_delay)

        return cls(
            readiness=state("readinessProbe", ready),
            liveness=state("livenessProbe", True),
            startup=state("startupProbe", ready),
        )

    @property
    def started(self) -> bool:
        return self.startup is None or self.startup.ever_ok

    @property
    def ready(self) -> bool:
        return self.started and (self.readiness is None or self.readiness.ok)

    @property
    def needs_restart(self) -> bool:
        failed_start = (
            self.startup is not None
            and not self.startup.ever_ok
            and (self.startup.failures >= self.startup.spec.failure_threshold)
        )
        dead = self.started and self.liveness is not None and not self.liveness.ok
        return failed_start or dead

    async def tick(self, ip: str, container: str, exec_runner: ExecRunner) -> None:
        """Run whichever probes are due now (startup first, as the kubelet does)."""
        now = time.monotonic()
        due = [self.startup] if not self.started else [self.readiness, self.liveness]
        for probe in due:
            if probe is not None and probe.next_at <= now:
                probe.record(
                    await run_once(probe.spec, ip, container, exec_runner), time.monotonic()
                )
