"""`conveyor reconcile --shard-lease NAMESPACE`: compose this replica's shard membership.

Several `conveyor reconcile` processes (the reconciler's Deployment or StatefulSet
replicas) share the apps: each holds the Lease `conveyor-reconciler-<pod>` in NAMESPACE,
labelled `conveyor.dev/shard-group=reconciler`, and reconciles the apps that
`reconcile.sharding` gives it among the live holders (`reconcile.membership`).

* The pod name comes from `POD_NAME` (set it from the downward API) or the host name, which
  is the pod name in Kubernetes; the Lease holder is `<pod>_<random>`, so a restarted pod
  waits for its predecessor's Lease to expire rather than reusing it.
* With `--listen`, `--shard-advertise URL` is required: the URL at which the other
  replicas reach this one's endpoint (in a pod, `http://$(POD_IP):PORT`). It is written on
  the Lease (`conveyor.dev/endpoint`) and requests about an app another replica owns are
  forwarded there (app/shardroute).
* The API server is reached as lightkube finds it: the pod's service account first, then
  `KUBECONFIG` or ~/.kube/config. The replica needs get, list, create, patch and delete on
  `leases.coordination.k8s.io` in NAMESPACE (delete: its own on exit, and the Leases of
  replicas that died, once long expired).

Called by app/cmd_reconcile only.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import urllib.parse
from collections.abc import Callable
from typing import TypeVar

import click
import httpx2
from lightkube import AsyncClient, ConfigError, KubeConfig

from conveyor.core.errors import UserError
from conveyor.reconcile.appspec import parse_duration
from conveyor.reconcile.membership import LEASE_PREFIX, Membership, member_lease

GROUP = "reconciler"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
F = TypeVar("F", bound=Callable[..., object])
DEFAULT_DURATION = "15s"


def options(command: F) -> F:
    """The `--shard-lease`, `--shard-lease-duration` and `--shard-advertise` options of
    `conveyor reconcile`."""
    command = click.option(
        "--shard-advertise",
        metavar="URL",
        help="With --shard-lease and --listen: the http://HOST:PORT at which the other "
        "replicas reach this one's --listen endpoint (e.g. http://$(POD_IP):8081).",
    )(command)
    command = click.option(
        "--shard-lease-duration",
        help=f"With --shard-lease: how long a Lease lasts unrenewed (whole seconds, >= 3; "
        f"default {DEFAULT_DURATION}).",
    )(command)
    return click.option(
        "--shard-lease",
        metavar="NAMESPACE",
        help="Run as one of several replicas: hold a Lease in NAMESPACE (Kubernetes) and "
        "reconcile only this replica's share of the apps; a replica that dies hands its "
        "apps over within about one lease duration.",
    )(command)


def from_options(
    namespace: str | None,
    duration: str | None,
    *,
    once: bool,
    listen: str | None = None,
    advertise: str | None = None,
) -> Membership | None:
    """The membership `--shard-lease` asks for, or None without it."""
    if namespace is None:
        for given, name in ((duration, "--shard-lease-duration"), (advertise, "--shard-advertise")):
            if given is not None:
                raise UserError(
                    f"{name} is only used with --shard-lease",
                    hint=f"add --shard-lease NAMESPACE, or drop {name}",
                )
        return None
    if once:
        raise UserError(
            "--shard-lease shares the apps among running replicas; --once reconciles all",
            hint="drop --once to run as a sharded replica, or --shard-lease for one pass",
        )
    seconds = parse_duration(duration or DEFAULT_DURATION, where="--shard-lease-duration: ")
    return open_shard(namespace, seconds, endpoint=advertised(listen, advertise))


def advertised(listen: str | None, advertise: str | None) -> str:
    """The endpoint to write on the Lease: `--shard-advertise`, required with `--listen`
    (a replica's endpoint must reach the owner of any app) and useless without it."""
    if listen is None:
        if advertise is not None:
            raise UserError(
                "--shard-advertise names where --listen answers; there is no --listen",
                hint="add --listen HOST:PORT, or drop --shard-advertise",
            )
        return ""
    parts = urllib.parse.urlsplit(advertise or "")
    if parts.scheme != "http" or not parts.hostname or parts.port is None or parts.path:
        raise UserError(
            f"--shard-advertise {advertise!r}: give http://HOST:PORT, where the other "
            "replicas reach this one's --listen endpoint"
            if advertise
            else "--listen with --shard-lease needs --shard-advertise http://HOST:PORT: "
            "requests about apps another replica owns are forwarded to it there",
            hint="in a pod: --shard-advertise http://$(POD_IP):PORT, POD_IP from status.podIP",
        )
    return f"http://{parts.netloc}"


def pod_name() -> str:
    """This replica's name: `POD_NAME`, else the host name (a pod's host name is its name)."""
    name = os.environ.get("POD_NAME") or socket.gethostname()
    lease = LEASE_PREFIX + name
    if not DNS_LABEL.match(name) or len(lease) > 253:
        raise UserError(
            f"--shard-lease: {name!r} cannot name a Lease ({lease!r} is not a valid name)",
            hint="set POD_NAME to the pod's name (fieldRef metadata.name in the pod spec)",
        )
    return name


def kube_client(namespace: str, timeout: float = 10.0) -> AsyncClient:
    """A client of the cluster this process runs in (or KUBECONFIG's current context);
    a request that takes longer than `timeout` seconds fails (and is retried next round)."""
    try:
        config = KubeConfig.from_env()
    except ConfigError as exc:
        raise UserError(
            f"--shard-lease {namespace}: no Kubernetes configuration found ({exc})",
            hint="run in a pod with a service account, or set KUBECONFIG",
        ) from exc
    return AsyncClient(config=config, namespace=namespace, timeout=httpx2.Timeout(timeout))


def open_shard(namespace: str, duration: float, *, endpoint: str = "") -> Membership:
    """This replica's membership of the reconciler group in `namespace`; `endpoint` (where
    its --listen answers) goes on its Lease."""
    seconds = int(duration)
    if seconds < 3 or seconds != duration:
        raise UserError(
            f"--shard-lease-duration {duration:g}s: give whole seconds, at least 3",
            hint="e.g. --shard-lease-duration 15s (a replica that dies hands over in ~that)",
        )
    pod = pod_name()
    lock = member_lease(
        kube_client(namespace, timeout=seconds / 3),  # one renewal period
        namespace=namespace,
        pod=pod,
        identity=f"{pod}_{secrets.token_hex(4)}",
        duration=seconds,
        group=GROUP,
        endpoint=endpoint,
    )
    return Membership(lock, group=GROUP)
