"""The Kubernetes runner pool: one ephemeral pod per queued job, like actions-runner-
controller's runner scale sets (issue 16, "Runners on Kubernetes").

Run with `KubePool(service, config, client=AsyncClient(...), registrar=auth).run(stop)`; it
talks to the CI service in-process, as `ci.pool.LocalPool` does, and to the Kubernetes API
through lightkube's `AsyncClient`. Every `interval` seconds one `step`:

1. lists its pods (label `conveyor.dev/runner-pool=<pool id>`, per template namespace);
2. reaps finished ones (phase Succeeded or Failed): deletes the pod, its Secret and its
   runner registration (`reap`);
3. per template (the first whose labels cover a job's `runs-on` takes it), starts a pod for
   each queued job without one, up to `max` live pods, plus warm pods up to `min`; deletes
   job pods whose job went to another runner and whose runner holds none (`scale`). A job's
   pod takes that job only (`conveyor runner --unit`): its containers are that job's.

Warm pods (`min` > 0) are made before any job is known, so they have no containers for a
job's services or job container: their agents run with `--no-job-containers` (the server
hands them no such job), such jobs get a pod of their own first, and idle warm pods are
deleted when `max` leaves no room for one (`make_room`; `min` is restored afterwards).

A pod's runner is registered just in time (`Registrar`, the server's `Auth`), scoped to the
job's repository (warm pods: the template's `scope`), with the template's labels; its
credential goes into a Secret created with the pod and owner-referenced to it, so the
cluster's garbage collector deletes it with the pod even if the pool is gone (the pool
deletes it as well). A job whose services or job container cannot become a pod spec is
failed at once with the reason (`ci.kubepool_job`). Errors of the Kubernetes API end the
step with a warning (the next step retries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpx2
from lightkube import AsyncClient
from lightkube.resources.core_v1 import Pod, Secret

from conveyor.ci.kubepool_config import KubePoolConfig, PodTemplate
from conveyor.ci.kubepool_fields import PodSpecError
from conveyor.ci.kubepool_job import job_pod, needs_containers
from conveyor.ci.kubepool_pods import (
    NO_JOB,
    POOL_LABEL,
    TEMPLATE_LABEL,
    secret_name,
)
from conveyor.ci.kubepool_status import (
    FINISHED,
    labels_of,
    name_of,
    phase_of,
    unit_of,
    why_ended,
    why_waiting,
)
from conveyor.ci.kubepool_writer import PodWriter
from conveyor.ci.model import Conclusion, Status, Unit
from conveyor.ci.runnerscope import covers
from conveyor.ci.service import CIService
from conveyor.ci.triggers import labels_match
from conveyor.workflow.model import Job

log = logging.getLogger(__name__)

REGISTERED_BY = "kubernetes-runner-pool"


class Registrar(Protocol):
    """Registers a runner and returns its credential (`conveyor.server.auth.Auth`)."""

    def register_runner(self, name: str, *, labels: Sequence[str], scope: str, by: str) -> str: ...


class KubePool:
    """Runner pods that follow the queue (see the module docstring)."""

    def __init__(
        self,
        service: CIService,
        config: KubePoolConfig,
        *,
        client: AsyncClient,
        registrar: Registrar,
        pool_id: str = "default",
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service, self.config, self.client = service, config, client
        self.registrar, self.pool_id, self.interval = registrar, pool_id, interval
        self.clock = clock
        self.started: dict[str, float] = {}  # job pods by name: when first seen Pending
        revoke = service.store.access.revoke_token
        self.writer = PodWriter(
            client, pool_id=pool_id, server=config.server, revoke=revoke, ca=config.ca_bundle
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.step()
            except httpx2.HTTPError as exc:  # lightkube's: API errors, an unreachable cluster
                log.warning("runner pool: Kubernetes API: %s; retrying in %g s", exc, self.interval)
            except Exception:  # a bug must not end the pool for good: logged, next step
                log.exception("runner pool: step failed; retrying in %g s", self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def step(self) -> None:
        """One pass: reap finished pods, then scale each template to its queue."""
        pods = await self.pods()
        live = [p for p in pods if not await self.reap(p)]
        queued = self.service.parts.ledger.units(status=(Status.QUEUED,))
        busy = {u.runner for u in self.service.parts.ledger.units(status=(Status.IN_PROGRESS,))}
        taken: set[int] = {unit_of(p) or 0 for p in live}
        for template in self.config.templates:
            mine = [p for p in live if labels_of(p).get(TEMPLATE_LABEL) == template.name]
            wanted = [u for u in queued if u.id not in taken and self._serves(template, u)]
            taken |= {u.id for u in wanted}
            await self.scale(template, mine, wanted, busy)

    async def pods(self) -> list[dict[str, Any]]:
        """This pool's pods in every template's namespace (as plain dicts)."""
        found: list[dict[str, Any]] = []
        for namespace in sorted({t.namespace for t in self.config.templates}):
            async for pod in self.client.list(
                Pod, namespace=namespace, labels={POOL_LABEL: self.pool_id}
            ):
                raw = pod.to_dict()
                if labels_of(raw).get(POOL_LABEL) == self.pool_id:
                    found.append(raw)
        return found

    def _serves(self, template: PodTemplate, unit: Unit) -> bool:
        """Whether this template takes the unit: its labels cover the job's (the first such
        template does: `step` hands a unit to one template only)."""
        return bool(unit.labels) and labels_match(template.labels, unit.labels)

    async def reap(self, pod: dict[str, Any]) -> bool:
        """Delete a finished pod with its Secret and registration, and fail the job its
        runner still held (killed, evicted …: the reason is the pod's); or a job pod that has
        not started within the template's `startTimeout`, failing its job with the kubelet's
        reason (an image that cannot be pulled …). True when the pod is gone."""
        name = name_of(pod)
        if phase_of(pod) in FINISHED:
            log.info("runner pod %s %s: deleting it and its registration", name, phase_of(pod))
            self._fail_held(name, f"runner pod {name} ended: {why_ended(pod)}")
        elif not self._late(pod):
            return False
        else:
            reason = why_waiting(pod) or "no reason given by the cluster"
            log.warning("runner pod %s did not start (%s): deleting it", name, reason)
            self._fail_queued(pod, f"runner pod {name} did not start in time: {reason}")
        await self.remove(pod)
        self.started.pop(name, None)
        return True

    def _late(self, pod: dict[str, Any]) -> bool:
        """A job pod still Pending past its template's start timeout (counted from when this
        pool first saw it)."""
        if phase_of(pod) != "Pending" or unit_of(pod) is None:
            return False
        first = self.started.setdefault(name_of(pod), self.clock())
        template = labels_of(pod).get(TEMPLATE_LABEL, "")
        limits = [t.start_timeout for t in self.config.templates if t.name == template]
        return bool(limits) and self.clock() - first > limits[0]

    def _fail_held(self, runner: str, reason: str) -> None:
        for unit in self.service.parts.ledger.units(status=(Status.IN_PROGRESS,)):
            if unit.runner == runner:
                self.service.parts.runners.endings.finish_unit(
                    unit, Conclusion.FAILURE, reason=reason
                )

    def _fail_queued(self, pod: dict[str, Any], reason: str) -> None:
        for unit in self.service.parts.ledger.units(status=(Status.QUEUED,)):
            if unit.id == unit_of(pod):
                self._refuse(unit, reason)

    async def remove(self, pod: dict[str, Any]) -> None:
        """Revoke the pod's runner (its credential stops working), then delete pod and Secret."""
        name, namespace = name_of(pod), pod["metadata"].get("namespace") or self._namespace(pod)
        self.service.store.access.revoke_token(name)
        await self.writer.delete(Pod, name, namespace)
        await self.writer.delete(Secret, secret_name(name), namespace)

    async def scale(
        self,
        template: PodTemplate,
        mine: list[dict[str, Any]],
        wanted: list[Unit],
        busy: set[str],
    ) -> None:
        """Start pods for `wanted` and warm ones up to `min`, within `max`; delete idle job
        pods whose job another runner took (or that ended), and idle warm pods when a job
        with containers has no room (warm pods take no such job: `make_room`)."""
        still_queued = {u.id for u in self.service.parts.ledger.units(status=(Status.QUEUED,))}
        for pod in list(mine):
            held = unit_of(pod)
            if held is not None and held not in still_queued and name_of(pod) not in busy:
                log.info(
                    "runner pod %s: its job ended or went elsewhere; deleting it", name_of(pod)
                )
                await self.remove(pod)
                mine.remove(pod)
        wanted = sorted(wanted, key=lambda u: not self._needs_containers(u))
        await self.make_room(template, mine, wanted, busy)
        room = template.maximum - len(mine)
        for unit in wanted[: max(room, 0)]:
            await self.launch(template, unit)
        room -= min(len(wanted), max(room, 0))
        warm = sum(1 for p in mine if unit_of(p) is None)
        for _ in range(min(template.minimum - warm, room)):
            await self.launch(template, None)

    async def make_room(
        self, template: PodTemplate, mine: list[dict[str, Any]], wanted: list[Unit], busy: set[str]
    ) -> None:
        """Delete idle warm pods while a job that needs containers (services or a job
        container, which only a pod made for it has) would otherwise find `max` reached."""
        room = max(template.maximum - len(mine), 0)
        short = sum(1 for u in wanted if self._needs_containers(u)) - room
        idle = [p for p in mine if unit_of(p) is None and name_of(p) not in busy]
        for pod in idle[: max(short, 0)]:
            log.info(
                "warm runner pod %s: deleted to make room for a job with containers", name_of(pod)
            )
            await self.remove(pod)
            mine.remove(pod)

    def _needs_containers(self, unit: Unit) -> bool:
        job = _job(self.service, unit)
        return job is not None and needs_containers(job)

    async def launch(self, template: PodTemplate, unit: Unit | None) -> None:
        """Register a runner and start its pod (with its Secret); for `unit`'s job, scoped to
        its repository and with its containers; a job that cannot be translated fails."""
        scope = template.scope
        parts = NO_JOB
        if unit is not None:
            run = self.service.parts.ledger.run(unit.run_id)
            scope = f"repo:{run.repo}"
            if template.scope and not covers(template.scope, run.repo):
                return  # outside the template's scope: another runner's job
            try:
                job = _job(self.service, unit)
                parts = job_pod(job) if job is not None else NO_JOB
            except PodSpecError as exc:
                self._refuse(unit, str(exc))
                return
        runner = f"{template.name}-{secrets.token_hex(4)}"
        token = self.registrar.register_runner(
            runner, labels=template.labels, scope=scope, by=REGISTERED_BY
        )
        unit_id = None if unit is None else unit.id
        await self.writer.start(template, runner, token, unit_id, parts)

    def _refuse(self, unit: Unit, reason: str) -> None:
        log.warning(
            "run %d: job %s refused by the Kubernetes pool: %s", unit.run_id, unit.name, reason
        )
        self.service.parts.runners.endings.finish_unit(unit, Conclusion.FAILURE, reason=reason)

    def _namespace(self, pod: dict[str, Any]) -> str:
        template = labels_of(pod).get(TEMPLATE_LABEL, "")
        found = [t.namespace for t in self.config.templates if t.name == template]
        return found[0] if found else "default"


def _job(service: CIService, unit: Unit) -> Job | None:
    run = service.parts.ledger.run(unit.run_id)
    workflow = service.parts.runners.workflows.of(run)
    return next((j for j in workflow.jobs if j.id == unit.job_id), None)
