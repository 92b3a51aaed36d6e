"""`conveyor server --runner-pool kubernetes:CONFIG`: runner pools beside the local one.

Called by `server.main`: `parse_runner_pool` reads each option at start (a bad option or
config file stops the server with a message naming it, before anything is served);
`start_pools` starts each `ci.kubepool.KubePool` as a task of the server, with the server's
`Auth` registering the pods' runners and a lightkube client from the config's `kubeconfig`
and `context`, or in-cluster configuration (a service account) when neither is given, else
`~/.kube/config` (lightkube's `KubeConfig.from_env`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lightkube import AsyncClient, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError

from conveyor.ci.kubepool import KubePool
from conveyor.ci.kubepool_config import KubePoolConfig, KubePoolConfigError, load_config
from conveyor.ci.service import CIService
from conveyor.server.auth import Auth

KINDS = ("kubernetes",)


def parse_runner_pool(option: str) -> KubePoolConfig:
    """`kubernetes:PATH` → the pool's configuration; `KubePoolConfigError` says what to fix."""
    kind, colon, path = option.partition(":")
    if kind not in KINDS or not colon or not path:
        raise KubePoolConfigError(
            f"--runner-pool {option!r}: give KIND:CONFIG with KIND one of {', '.join(KINDS)} "
            "(e.g. kubernetes:/etc/conveyor/runners.yaml)"
        )
    config = load_config(Path(path))
    kube_config(config)  # a missing or wrong kubeconfig stops the server now
    return config


def kube_config(config: KubePoolConfig) -> SingleConfig:
    """The Kubernetes configuration the config names (see the module docstring)."""
    try:
        if config.kubeconfig is not None:
            kube = KubeConfig.from_file(config.kubeconfig)
        else:
            kube = KubeConfig.from_env()
        single = kube.get(context_name=config.context or None)
    except ConfigError as exc:
        where = config.kubeconfig or "in-cluster or ~/.kube/config"
        raise KubePoolConfigError(
            f"runner pool: no usable Kubernetes configuration ({where}): {exc}"
        ) from exc
    if single is None:
        raise KubePoolConfigError(
            f"runner pool: the kubeconfig has no context {config.context!r}: name one it has"
        )
    return single


def start_pools(
    service: CIService, auth: Auth, configs: tuple[KubePoolConfig, ...], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """One task per pool; each ends when `stop` is set."""
    tasks = []
    for number, config in enumerate(configs):
        pool = KubePool(
            service,
            config,
            client=AsyncClient(kube_config(config)),
            registrar=auth,
            pool_id=f"pool{number}",
        )
        tasks.append(asyncio.create_task(pool.run(stop)))
    return tasks
