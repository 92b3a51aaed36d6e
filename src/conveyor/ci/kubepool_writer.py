"""Creating and deleting a runner pod with its token Secret, for `ci.kubepool`.

`PodWriter.start` creates the Secret first (the pod's container reads it), then the pod,
then gives the Secret an owner reference to the pod's uid, so the cluster's garbage
collector deletes it with the pod; a pod that cannot be created takes the rest back (the
runner's registration is revoked through `revoke`). `delete` treats 404 as done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from lightkube import AsyncClient
from lightkube.codecs import from_dict
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import Pod, Secret
from lightkube.types import PatchType

from conveyor.ci.kubepool_config import CaBundle, PodTemplate
from conveyor.ci.kubepool_job import JobPod
from conveyor.ci.kubepool_pods import owner_reference, runner_pod, secret_name, token_secret

log = logging.getLogger(__name__)


class PodWriter:
    """The pool's writes to the Kubernetes API (see the module docstring)."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        pool_id: str,
        server: str,
        revoke: Callable[[str], object],
        ca: CaBundle | None = None,
    ) -> None:
        self.client, self.pool_id, self.server, self.revoke = client, pool_id, server, revoke
        self.ca = ca

    async def start(
        self,
        template: PodTemplate,
        runner: str,
        token: str,
        unit_id: int | None,
        parts: JobPod,
    ) -> None:
        """Secret, pod, owner reference (see the module docstring)."""
        secret = token_secret(template, runner=runner, pool_id=self.pool_id, token=token)
        await self.client.create(from_dict(secret))
        manifest = runner_pod(
            template,
            runner=runner,
            pool_id=self.pool_id,
            server=self.server,
            unit_id=unit_id,
            job=parts,
            ca=self.ca,
        )
        try:
            pod = await self.client.create(from_dict(manifest))
        except ApiError:
            self.revoke(runner)
            await self.delete(Secret, secret_name(runner), template.namespace)
            raise
        uid = pod.metadata.uid if pod.metadata is not None else None
        if uid:
            patch = {"metadata": {"ownerReferences": [owner_reference(runner, uid)]}}
            await self.client.patch(
                Secret,
                secret_name(runner),
                patch,
                namespace=template.namespace,
                patch_type=PatchType.MERGE,
            )
        else:
            log.warning("pod %s has no uid: its Secret is deleted by the pool only", runner)
        log.info("runner pod %s started in %s (job unit %s)", runner, template.namespace, unit_id)

    async def delete(self, kind: type[Pod] | type[Secret], name: str, namespace: str) -> None:
        try:
            await self.client.delete(kind, name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code != 404:  # already gone is what we wanted
                raise
