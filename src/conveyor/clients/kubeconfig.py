"""Where a Kubernetes target connects: a kubeconfig file and context, or in-cluster.

`load(kubeconfig, context)` is called by `targets.kubernetes` when the target is built
from `conveyor.yaml` (`kubeconfig:` and `context:`). Rules:

* `kubeconfig` given: that file (`~` expanded), with `context` or else its
  `current-context`; a missing file, bad YAML, an unknown context, or a context whose
  cluster or user is not in the file is a `KubeConfigError` naming the file and context.
* neither given: in-cluster, as a Pod's service account sees it: the token, CA and
  namespace under `/var/run/secrets/kubernetes.io/serviceaccount` and the API server
  from `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`; what is missing is named.
* `context` alone: the file `$KUBECONFIG` names, else `~/.kube/config` (as kubectl).

Library: lightkube's `KubeConfig` parses the file and builds TLS and auth; this module
only chooses and reports. Imports nothing above `core`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml
from lightkube import KubeConfig, SingleConfig
from lightkube.config.models import Cluster, User

from conveyor.core.errors import UserError
from conveyor.core.location import Location

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = Path("~/.kube/config")


class KubeConfigError(UserError):
    """The connection settings of a Kubernetes target are wrong or missing."""


def load(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    service_account: Path = SERVICE_ACCOUNT,
    environ: Mapping[str, str] | None = None,
) -> SingleConfig:
    """The connection for one target (see the module docstring for the rules)."""
    env = os.environ if environ is None else environ
    if kubeconfig is None and context is None:
        return in_cluster(service_account, env)
    path = Path(kubeconfig or env.get("KUBECONFIG") or DEFAULT_KUBECONFIG).expanduser()
    return from_file(path, context)


def from_file(path: Path, context: str | None) -> SingleConfig:
    where = Location(file=str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise KubeConfigError(
            f"cannot read kubeconfig: {exc.strerror or exc}",
            location=where,
            hint="set the target's kubeconfig: to an existing file, or leave kubeconfig and "
            "context out to use the in-cluster service account",
        ) from exc
    except yaml.YAMLError as exc:
        raise KubeConfigError(f"kubeconfig is not valid YAML: {exc}", location=where) from exc
    if not isinstance(data, dict) or not isinstance(data.get("contexts"), list):
        raise KubeConfigError(
            "kubeconfig has no contexts: list", location=where, hint="is this a kubeconfig?"
        )
    return _context(KubeConfig.from_dict(data, fname=path), context, where)


def _context(config: KubeConfig, context: str | None, where: Location) -> SingleConfig:
    known = ", ".join(sorted(config.contexts)) or "none"
    name = context or config.current_context
    if not name:
        raise KubeConfigError(
            "kubeconfig has no current-context", location=where, hint=f"set context: ({known})"
        )
    if name not in config.contexts:
        raise KubeConfigError(
            f"context {name!r} is not in the kubeconfig", location=where, hint=f"known: {known}"
        )
    ctx = config.contexts[name]
    if ctx.cluster not in config.clusters:
        raise KubeConfigError(
            f"context {name!r} names cluster {ctx.cluster!r}, which the file does not define",
            location=where,
        )
    if ctx.user and ctx.user not in config.users:
        raise KubeConfigError(
            f"context {name!r} names user {ctx.user!r}, which the file does not define",
            location=where,
        )
    single = config.get(name)
    assert single is not None  # a named context always yields a config
    return single


def in_cluster(account: Path, environ: Mapping[str, str]) -> SingleConfig:
    """The service account's view of the cluster it runs in."""
    missing = [
        v for v in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT") if not environ.get(v)
    ]
    missing += [str(account / f) for f in ("token", "ca.crt") if not (account / f).is_file()]
    if missing:
        raise KubeConfigError(
            "no kubeconfig: or context: given and not running in a cluster "
            f"(missing {', '.join(missing)})",
            hint="set the target's kubeconfig: (and context:) in conveyor.yaml",
        )
    host, port = environ["KUBERNETES_SERVICE_HOST"], environ["KUBERNETES_SERVICE_PORT"]
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    namespace_file = account / "namespace"
    config = KubeConfig.from_one(
        cluster=Cluster(server=f"https://{host}:{port}", certificate_auth=str(account / "ca.crt")),
        user=User(token_file=str(account / "token")),  # re-read: projected tokens rotate
        namespace=namespace_file.read_text().strip() if namespace_file.is_file() else None,
    )
    single = config.get()
    assert single is not None
    return single
