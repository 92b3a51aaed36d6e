"""A runner pod and its credential Secret as Kubernetes objects (plain dicts), for
`ci.kubepool`.

One pod runs one `conveyor runner --ephemeral` (it takes one job and exits; `restartPolicy:
Never`), with its just-in-time credential in `$CONVEYOR_TOKEN` from a Secret created with it
(`secretKeyRef`; the agent removes the variable from its environment once read,
`ci.agent.read_token`). The pod gets no service account token: the agent talks to Conveyor,
never to the Kubernetes API.

A job pod also gets its job's services and job container (`ci.kubepool_job.JobPod`). Pure.
"""

from __future__ import annotations

from typing import Any

from conveyor.ci.kubepool_config import CaBundle, PodTemplate
from conveyor.ci.kubepool_job import WORK_DIR, JobPod

MANAGED_BY = "app.kubernetes.io/managed-by"
POOL_LABEL = "conveyor.dev/runner-pool"
TEMPLATE_LABEL = "conveyor.dev/runner-template"
UNIT_ANNOTATION = "conveyor.dev/unit"
TOKEN_KEY = "token"
CA_DIR = "/etc/conveyor/ca"
CA_FILE = f"{CA_DIR}/ca.crt"
NO_JOB = JobPod()


def secret_name(runner: str) -> str:
    return f"{runner}-token"


def runner_pod(
    template: PodTemplate,
    *,
    runner: str,
    pool_id: str,
    server: str,
    unit_id: int | None,
    job: JobPod = NO_JOB,
    ca: CaBundle | None = None,
) -> dict[str, Any]:
    """The pod of runner `runner` (its name too), for the job of `unit_id` (None: a warm pod,
    any job of its labels and scope); a job's pod takes that job only (`--unit`), since its
    other containers are that job's. `ca`: the server's CA, mounted into the agent's
    container and given to it as `--ca-file`."""
    args = ["--server", server, "--ephemeral", "--work", WORK_DIR]
    if unit_id is not None:
        args += ["--unit", str(unit_id)]
    else:  # a warm pod has no containers for a job's services or job container
        args.append("--no-job-containers")
    args += job.agent_args
    volumes = list(job.volumes)
    mounts = list(job.agent_mounts)
    if ca is not None:
        args += ["--ca-file", CA_FILE]
        volumes.append(_ca_volume(ca))
        mounts.append({"name": "server-ca", "mountPath": CA_DIR, "readOnly": True})
    agent: dict[str, Any] = {
        "name": "runner",
        "image": template.image,
        "command": ["conveyor", "runner"],
        "args": args,
        "env": [
            {
                "name": "CONVEYOR_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret_name(runner), "key": TOKEN_KEY}},
            },
            *job.agent_env,
        ],
    }
    if template.resources:
        agent["resources"] = dict(template.resources)
    if mounts:
        agent["volumeMounts"] = mounts
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "containers": [agent, *job.containers],
    }
    if volumes:
        spec["volumes"] = volumes
    if template.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in template.image_pull_secrets]
    if template.node_selector:
        spec["nodeSelector"] = dict(template.node_selector)
    if template.service_account:
        spec["serviceAccountName"] = template.service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": runner,
            "namespace": template.namespace,
            "labels": pool_labels(pool_id, template.name),
            "annotations": {} if unit_id is None else {UNIT_ANNOTATION: str(unit_id)},
        },
        "spec": spec,
    }


def _ca_volume(ca: CaBundle) -> dict[str, Any]:
    """The CA's key as the file `ca.crt` (the kubelet does not start the pod while the
    ConfigMap or Secret or its key is missing: the pod stays Pending with the reason)."""
    items = [{"key": ca.key, "path": "ca.crt"}]
    if ca.kind == "secret":
        return {"name": "server-ca", "secret": {"secretName": ca.name, "items": items}}
    return {"name": "server-ca", "configMap": {"name": ca.name, "items": items}}


def pool_labels(pool_id: str, template: str) -> dict[str, str]:
    return {MANAGED_BY: "conveyor", POOL_LABEL: pool_id, TEMPLATE_LABEL: template}


def token_secret(template: PodTemplate, *, runner: str, pool_id: str, token: str) -> dict[str, Any]:
    """The Secret holding the runner's credential (owner-referenced to its pod afterwards)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(runner),
            "namespace": template.namespace,
            "labels": pool_labels(pool_id, template.name),
        },
        "type": "Opaque",
        "stringData": {TOKEN_KEY: token},
    }


def owner_reference(pod_name: str, uid: str) -> dict[str, Any]:
    """What makes the garbage collector delete a Secret with its pod."""
    return {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": uid}
