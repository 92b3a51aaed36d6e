"""A job's `container:` as a container of its Kubernetes runner pod, for `ci.kubepool_job`.

The job container runs the executor loop of `runners.sibling_protocol` as its command (the
image's entrypoint and command are replaced, as GitHub and act replace them with `tail -f
/dev/null`), so any image with /bin/sh serves. It mounts the pod's shared volumes (made by
`ci.kubepool_job`) and an emptyDir at /github/home. What shapes the pod must be written out
(the pod is made before the job starts): the image, `ports`, `volumes` and `options`;
`env` is not part of the pod spec but given to every step by the agent's runner
(`runners.sibling`), evaluated at job start, so expressions work there as on GitHub.

Translated `options`: `--cpus`, `--memory`/`-m` (resource limits), `--user`/`-u` with
numeric ids, `--privileged`, `--cap-add`, `--cap-drop` (security context); anything else is
refused, naming it. `volumes`: `NAME:/path[:ro]` and `/path` become emptyDir volumes of the
pod (a Docker named volume outlives the job; an emptyDir lives as long as the pod); a host
path is refused (the pool mounts nothing of the node). `credentials` are refused: the pool
logs in to no registry; the template's `imagePullSecrets` does that. Pure.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from conveyor.ci.kubepool_fields import (
    EXPRESSION,
    PodSpecError,
    container_port,
    dns_label,
    has_expression,
)
from conveyor.runners.sibling_protocol import loop_command
from conveyor.workflow.model import Container

JOB_CONTAINER = "job"
GITHUB_HOME = "/github/home"
HOME_VOLUME = "github-home"

TRANSLATED = "--cpus, --memory, --user, --privileged, --cap-add, --cap-drop"
_VALUED = {"--cpus", "--memory", "-m", "--user", "-u", "--cap-add", "--cap-drop"}
_MEMORY = re.compile(r"^(\d+)([bkmg]?)$", re.IGNORECASE)
_UNITS = {"": "", "b": "", "k": "Ki", "m": "Mi", "g": "Gi"}
_IDS = re.compile(r"^(\d+)(?::(\d+))?$")
_REFUSED = (
    f"cannot be expressed in a runner pod's spec (the pool translates {TRANSLATED}, with "
    "numeric user ids; variables go under `env:`); remove it or run this job on another runner"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContainer:
    """The job container of a pod and the volumes only it mounts."""

    container: dict[str, Any]
    volumes: tuple[dict[str, Any], ...]


def job_container(
    where: str, spec: Container, shared_mounts: list[dict[str, Any]]
) -> JobContainer | None:
    """The container for `spec` (None: an empty image, no job container, as on GitHub);
    `where` is `jobs.<id>.container` for messages; `shared_mounts` are the pod's shared
    volumes (work directory, executor control) at their paths."""
    if spec.template is not None or has_expression(
        spec.image, spec.ports, spec.volumes, spec.options
    ):
        raise PodSpecError(f"{where}: {EXPRESSION}")
    if spec.credentials:
        raise PodSpecError(
            f"{where}.credentials: the Kubernetes runner pool logs in to no registry; remove "
            "them and name a Secret of type kubernetes.io/dockerconfigjson under the pod "
            "template's imagePullSecrets"
        )
    image = str(spec.image or "")
    if not image:
        return None
    volumes, mounts = _volumes(f"{where}.volumes", [str(v) for v in spec.volumes])
    home = {"name": HOME_VOLUME, "mountPath": GITHUB_HOME}
    container: dict[str, Any] = {
        "name": JOB_CONTAINER,
        "image": image,
        "command": loop_command(),
        "volumeMounts": [*shared_mounts, home, *mounts],
    }
    if spec.ports:
        container["ports"] = [container_port(f"{where}.ports", str(p)) for p in spec.ports]
    container.update(_options(f"{where}.options", str(spec.options or "")))
    home_volume = {"name": HOME_VOLUME, "emptyDir": {}}
    return JobContainer(container=container, volumes=(home_volume, *volumes))


def _volumes(where: str, entries: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        parts = entry.split(":")
        read_only = len(parts) == 3 and parts[2] == "ro"
        if len(parts) == 3 and parts[2] not in ("ro", "rw"):
            raise PodSpecError(f"{where}: {entry!r}: mode {parts[2]!r} is not ro or rw")
        if len(parts) == 1:
            source, target = "", parts[0]
        elif len(parts) in (2, 3):
            source, target = parts[0], parts[1]
        else:
            raise PodSpecError(f"{where}: {entry!r} is not [NAME:]PATH[:ro]")
        if source.startswith(("/", ".", "~")):
            raise PodSpecError(
                f"{where}: {entry!r} mounts a path of the machine; the Kubernetes runner pool "
                "mounts nothing of the node: use a named volume (NAME:PATH, an emptyDir of "
                "the pod) or run this job on another runner"
            )
        if not target.startswith("/"):
            raise PodSpecError(f"{where}: {entry!r}: the path in the container must be absolute")
        name = dns_label("vol", source or str(index))
        if all(v["name"] != name for v in volumes):
            volumes.append({"name": name, "emptyDir": {}})
        mount: dict[str, Any] = {"name": name, "mountPath": target}
        if read_only:
            mount["readOnly"] = True
        mounts.append(mount)
    return volumes, mounts


def _options(where: str, text: str) -> dict[str, Any]:
    """The container fields `options` translates to (see the module docstring)."""
    limits: dict[str, str] = {}
    security: dict[str, Any] = {}
    words = shlex.split(text)
    while words:
        word = words.pop(0)
        flag, eq, value = word.partition("=")
        if flag in _VALUED and not eq:
            if not words:
                raise PodSpecError(f"{where}: {flag} needs a value")
            value = words.pop(0)
        if flag == "--privileged" and not eq:
            security["privileged"] = True
        elif flag == "--cpus" and re.fullmatch(r"\d+(\.\d+)?", value):
            limits["cpu"] = value
        elif flag in ("--memory", "-m") and (memory := _MEMORY.match(value)):
            limits["memory"] = memory.group(1) + _UNITS[memory.group(2).lower()]
        elif flag in ("--user", "-u") and (ids := _IDS.match(value)):
            security["runAsUser"] = int(ids.group(1))
            if ids.group(2):
                security["runAsGroup"] = int(ids.group(2))
        elif flag in ("--cap-add", "--cap-drop"):
            key = "add" if flag == "--cap-add" else "drop"
            caps = security.setdefault("capabilities", {}).setdefault(key, [])
            caps.append(value.upper().removeprefix("CAP_"))
        else:
            raise PodSpecError(f"{where}: {_shown(word, flag, (eq, value), words)!r} {_REFUSED}")
    out: dict[str, Any] = {}
    if limits:
        out["resources"] = {"limits": limits}
    if security:
        out["securityContext"] = security
    return out


def _shown(word: str, flag: str, given: tuple[str, str], rest: list[str]) -> str:
    """The refused option as written: with its value when that is the next word."""
    eq, value = given
    if flag in _VALUED:
        return word if eq else f"{flag} {value}"
    if not eq and rest and not rest[0].startswith("-"):
        return f"{word} {rest[0]}"
    return word
