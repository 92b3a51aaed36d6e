"""A remote runner agent: `conveyor runner --server URL --token-file F [--ephemeral]`.

The token is the runner's own credential, from its registration (`POST /api/v1/runners`, admin),
which fixes its name, labels and scope (issue 12): the agent asks the server who it is
(`GET /api/v1/runner/me`) and polls as that runner; `--labels` may narrow the registered
labels, `--name` must match the registered name (the server refuses anything else).
Long-polls the server (`POST /api/v1/runner/poll`) for a job (a unit of a run) of a
repository in its scope whose `runs-on` labels it has, runs it with `ci.executor` (the same
code as the local pool), and streams logs, job states and heartbeats back over HTTP
(`HttpReporter`). Every call retries with backoff while the server is down, so an agent
survives server restarts: a job in progress keeps going and its reports land when the
server is back. With `--ephemeral` the agent exits after one job. Run it with `python -m
conveyor.ci.agent` or through `conveyor runner` (app/cmd_runner.py).

The token comes from a file only its owner can read (`--token-file`) or `$CONVEYOR_TOKEN`,
never from the command line, which every local user (and every job) reads in
`/proc/<pid>/cmdline` (issue 12 #8): `read_token`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from conveyor.ci.executor import RETRY_DELAY_MAX, execute
from conveyor.ci.model import GateState
from conveyor.ci.workspaces import remove, sweep
from conveyor.clients import tls
from conveyor.workflow.run.platform import Platform, choose

log = logging.getLogger(__name__)


TOKEN_VARIABLE = "CONVEYOR_TOKEN"


class TokenError(ValueError):
    """No usable runner token was given; the message says how to give one."""


def read_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str:
    """The runner's token from `token_file` (mode 0600 or stricter) or `$CONVEYOR_TOKEN`.

    The variable is removed from this process's environment once read, so the processes the
    runner starts (git, the jobs' steps) do not inherit it.
    """
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            mode = token_file.stat().st_mode
            text = token_file.read_text().strip()
        except OSError as exc:
            raise TokenError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        if mode & 0o077:
            raise TokenError(
                f"the token file {token_file} can be read by other users "
                f"(mode {oct(mode & 0o777)}): run `chmod 600 {token_file}` and start again"
            )
        if not text:
            raise TokenError(f"the token file {token_file} is empty")
        return text
    token = env.pop(TOKEN_VARIABLE, "").strip()
    if not token:
        raise TokenError(
            f"no runner token: pass --token-file FILE (mode 0600) or set ${TOKEN_VARIABLE}"
        )
    return token


class Client:
    """JSON calls to the server with bearer auth and retry-until-reachable."""

    def __init__(self, server: str, token: str, *, ca_file: Path | None = None) -> None:
        self.server = server.rstrip("/")
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(60.0),
            verify=tls.verify(ca_file),
        )

    async def upload(self, path: str, data: bytes) -> Any:
        return await self.call(path, None, content=data)

    async def download(self, path: str) -> bytes | None:
        """GET bytes (None on 404), retrying while the server is unreachable."""
        delay = 0.2
        while True:
            try:
                reply = await self.http.get(f"{self.server}{path}")
            except httpx.TransportError as exc:
                log.warning("server unreachable (%s); retrying in %.1f s", _unreachable(exc), delay)
            else:
                if reply.status_code == 404:
                    return None
                if reply.status_code < 500:
                    reply.raise_for_status()
                    return reply.content
                log.warning("server answered %d; retrying", reply.status_code)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_DELAY_MAX)

    async def whoami(self) -> dict[str, Any]:
        """The registered runner this credential is (name, labels, scope)."""
        while True:
            try:
                reply = await self.http.get(f"{self.server}/api/v1/runner/me")
            except httpx.TransportError as exc:
                log.warning("server unreachable (%s); retrying in 1 s", _unreachable(exc))
            else:
                if reply.status_code < 500:
                    reply.raise_for_status()
                    found: dict[str, Any] = reply.json()
                    return found
            await asyncio.sleep(1.0)

    async def call(
        self, path: str, body: Mapping[str, Any] | None, *, content: bytes | None = None
    ) -> Any:
        delay = 0.2
        while True:
            try:
                if content is not None:
                    reply = await self.http.post(f"{self.server}{path}", content=content)
                else:
                    reply = await self.http.post(f"{self.server}{path}", json=dict(body or {}))
            except httpx.TransportError as exc:
                log.warning("server unreachable (%s); retrying in %.1f s", _unreachable(exc), delay)
            else:
                if reply.status_code < 500:
                    reply.raise_for_status()
                    return reply.json() if reply.content else None
                log.warning("server answered %d; retrying", reply.status_code)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_DELAY_MAX)


LOG_BATCH = 512 * 1024  # characters of log text per call (the server takes 8 MiB by default)


def log_batches(lines: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """`lines` in order, cut into batches of about `LOG_BATCH` characters (a longer line
    goes alone)."""
    batches: list[list[tuple[str, str]]] = []
    size = LOG_BATCH
    for job, text in lines:
        if size + len(text) > LOG_BATCH:
            batches.append([])
            size = 0
        batches[-1].append((job, text))
        size += len(text) + len(job) + 8
    return batches


class HttpReporter:
    """`executor.Reporter` over the server's runner API."""

    def __init__(self, client: Client, run_id: int, runner: str) -> None:
        self.client, self.base, self.runner = client, f"/api/v1/runner/runs/{run_id}", runner

    async def logs(self, lines: Sequence[tuple[str, str]]) -> None:
        for batch in log_batches(lines):  # each well under the server's `logs` body cap
            await self.client.call(f"{self.base}/logs", {"runner": self.runner, "lines": batch})

    async def job(self, name: str, fields: Mapping[str, Any]) -> None:
        await self.client.call(
            f"{self.base}/jobs", {"runner": self.runner, "name": name, "fields": dict(fields)}
        )

    async def heartbeat(self) -> str:
        answer = await self.client.call(f"{self.base}/heartbeat", {"runner": self.runner})
        if not answer or not answer.get("cancel"):
            return ""
        return "stop" if answer.get("stop") else "cancel"  # a server without "stop": cancel

    async def environment(self, job_name: str, environment: str) -> Mapping[str, Any]:
        while True:
            answer: Mapping[str, Any] = await self.client.call(
                f"{self.base}/environment",
                {"runner": self.runner, "job": job_name, "environment": environment},
            )
            if answer.get("state") != GateState.WAITING:
                return answer

    async def deployment(self, job_name: str, environment: str, url: str, result: str) -> None:
        await self.client.call(
            f"{self.base}/deployment",
            {
                "runner": self.runner,
                "job": job_name,
                "environment": environment,
                "url": url,
                "result": result,
            },
        )

    async def artifact(self, name: str, data: bytes) -> None:
        await self.client.upload(f"{self.base}/artifacts/{name}?runner={self.runner}", data)

    async def fetch_artifact(self, name: str) -> bytes | None:
        return await self.client.download(f"{self.base}/artifacts/{name}?runner={self.runner}")

    async def complete(self, result: Mapping[str, Any]) -> None:
        await self.client.call(
            f"{self.base}/complete", {"runner": self.runner, "result": dict(result)}
        )


def _unreachable(exc: httpx.TransportError) -> str:
    """Why a call failed, for the retry warning; an untrusted certificate says what to do."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        text += "; the server's certificate is not trusted: give --ca-file with its CA"
    return text


async def serve(
    server: str,
    token: str,
    *,
    labels: Sequence[str] = (),
    name: str = "",
    ephemeral: bool,
    work: Path,
    ca_file: Path | None = None,
    unit: int | None = None,
    sidecar_services: bool = False,
    sibling_job_container: Path | None = None,
    no_job_containers: bool = False,
) -> None:
    """Poll, run, repeat (once with `ephemeral`). `name` and `labels` default to the
    registration's; given, the server checks them against it. `ca_file`: the CA that signed
    an https server's certificate, trusted by the agent's calls and by git's clones of the
    server. `unit`: take only that job unit (a Kubernetes runner pod made for it);
    `sidecar_services`: the job's services are the pod's other containers, on localhost;
    `sibling_job_container`: the job container is one too, running the executor loop of
    `runners.sibling_protocol` on this control directory (shared with it);
    `no_job_containers`: take no job with services or a job container (a warm pod)."""
    if sidecar_services or sibling_job_container:
        control = str(sibling_job_container or "")
        choose(Platform(sidecar_services=sidecar_services, job_container_control=control))
    client = Client(server, token, ca_file=ca_file)
    trusted = tls.git_environment(ca_file, server, os.environ)
    for gone in set(os.environ) - set(trusted):
        del os.environ[gone]
    os.environ.update(trusted)
    me = await client.whoami()
    name = name or str(me["name"])
    shown = ",".join(labels or me["labels"])
    log.info("runner %s (%s) polling %s for labels %s", name, me["scope"], server, shown)
    sweep(work)  # what a killed agent left (its jobs' processes ended with it)
    while True:
        assignment = await client.call(
            "/api/v1/runner/poll",
            {
                "runner": name,
                "labels": list(labels),
                "ephemeral": ephemeral,
                "unit": unit,
                "containers": not no_job_containers,
            },
        )
        if not assignment:
            continue
        run_id = int(assignment["run_id"])
        log.info("run %d: job %s picked up", run_id, assignment.get("job_id", ""))
        target = work / f"{run_id}-{assignment.get('unit_id', assignment['attempt'])}"
        remove(target)
        target.mkdir(parents=True)
        try:
            await execute(
                assignment, HttpReporter(client, run_id, name), work_dir=target, token=token
            )
        finally:
            remove(target)  # logs and artifacts went to the server
        if ephemeral:
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="conveyor runner")
    parser.add_argument("--server", required=True)
    parser.add_argument("--token-file", type=Path, default=None)
    parser.add_argument("--labels", default="", help="default: the registered labels")
    parser.add_argument("--name", default="", help="default: the registered name")
    parser.add_argument("--ephemeral", action="store_true")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--ca-file", type=Path, default=None)
    parser.add_argument("--unit", type=int, default=None, help="take only this job unit")
    parser.add_argument("--sidecar-services", action="store_true")
    parser.add_argument("--sibling-job-container", type=Path, default=None)
    parser.add_argument("--no-job-containers", action="store_true")
    args = parser.parse_args(argv)
    try:
        token = read_token(args.token_file)
    except TokenError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    work = args.work or Path(tempfile.mkdtemp(prefix="conveyor-runner-"))
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    asyncio.run(
        serve(
            args.server,
            token,
            labels=labels,
            name=args.name,
            ephemeral=args.ephemeral,
            work=work,
            ca_file=args.ca_file,
            unit=args.unit,
            sidecar_services=args.sidecar_services,
            sibling_job_container=args.sibling_job_container,
            no_job_containers=args.no_job_containers,
        )
    )


if __name__ == "__main__":
    main()
