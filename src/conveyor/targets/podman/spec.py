"""Pod templates as `podman run` plans (pure): what the Podman target supports, and how.

`validate_pod_spec` runs at apply time and raises `SpecError` naming the first field the
target cannot honour (the target turns it into `TargetRejected`, so nothing is silently
dropped). `plan_container` runs when a replica is created: it resolves env, envFrom and
volumes against the stored ConfigMaps and Secrets (a missing one raises `SpecError`,
reported like Kubernetes' `CreateContainerConfigError`) and returns a `RunPlan`.

Fields with no meaning on one host (scheduling, service accounts, DNS policy) are accepted
and have no effect; they are listed in `NO_EFFECT_POD_FIELDS`. Resource requests are
scheduling hints and are accepted; limits become `--cpus`/`--memory` when the host allows.
Called by `conveyor.targets.podman.target` (validation) and `.actuate` (plans).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.targets.podman import fields, quantity
from conveyor.targets.podman.spec_error import SpecError

__all__ = [
    "PULL",
    "HostFile",
    "Lookup",
    "PodContext",
    "RunPlan",
    "SpecError",
    "decoded",
    "expand",
    "validate_pod_spec",
]

POD_FIELDS = {
    "containers",
    "initContainers",
    "volumes",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "securityContext",
    "hostname",
}
NO_EFFECT_POD_FIELDS = {
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "dnsPolicy",
    "schedulerName",
    "nodeSelector",
    "affinity",
    "tolerations",
    "priorityClassName",
    "enableServiceLinks",
    "imagePullSecrets",
}
CONTAINER_FIELDS = {
    "name",
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "ports",
    "volumeMounts",
    "resources",
    "imagePullPolicy",
    "workingDir",
    "securityContext",
    "readinessProbe",
    "livenessProbe",
    "startupProbe",
    "terminationMessagePath",
    "terminationMessagePolicy",
}
SECURITY_FIELDS = {
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
}
PROBE_ACTIONS = {"httpGet", "tcpSocket", "exec"}
PULL = {"Always": "always", "IfNotPresent": "missing", "Never": "never"}

#: Looks up a ConfigMap ("ConfigMap") or Secret ("Secret") by name: its decoded data.
Lookup = Callable[[str, str], Mapping[str, bytes] | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFile:
    """A file the target writes under the replica's private run directory."""

    path: str  # relative to the run directory: "<volume>/<key>"
    data: bytes
    mode: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPlan:
    """Everything `podman run` needs for one replica, minus the host paths."""

    image: str
    flags: tuple[str, ...]  # run flags; "{run}" stands for the replica's run directory
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    files: tuple[HostFile, ...]
    container: Mapping[str, Any]


def _unknown(obj: Mapping[str, Any], allowed: set[str], path: str, strict: bool = True) -> None:
    for key in obj if strict else ():
        if key not in allowed:
            raise SpecError(f"{path}.{key}", "not supported by the podman target")


def validate_pod_spec(
    spec: Mapping[str, Any], *, host_limits: frozenset[str], strict: bool = True
) -> None:
    """Raise `SpecError` for the first field the target cannot honour (`strict` False:
    unknown fields are let through, as `Validate=false` asks)."""
    _unknown(spec, POD_FIELDS | NO_EFFECT_POD_FIELDS, "spec", strict)
    containers = spec.get("containers") or []
    if not containers:
        raise SpecError("spec.containers", "at least one container is required")
    for i, sidecar in enumerate(containers[1:], start=1):
        # The first container holds the pod's network (address, Service names, probes);
        # the others join its network namespace (`--network container:`).
        for field in ("readinessProbe", "livenessProbe", "startupProbe"):
            if field in sidecar:
                raise SpecError(
                    f"spec.containers[{i}].{field}",
                    "probes are supported on the first container only",
                )
        for j, port in enumerate(sidecar.get("ports") or []):
            if "hostPort" in port:
                raise SpecError(
                    f"spec.containers[{i}].ports[{j}].hostPort",
                    "hostPort is supported on the first container only",
                )
    _unknown(
        spec.get("securityContext") or {},
        SECURITY_FIELDS | {"fsGroup"},
        "spec.securityContext",
        strict,
    )
    for i, volume in enumerate(spec.get("volumes") or []):
        _validate_volume(volume, f"spec.volumes[{i}]")
    for i, container in enumerate(containers):
        _validate_container(container, f"spec.containers[{i}]", host_limits, strict)
    for i, init in enumerate(spec.get("initContainers") or []):
        path = f"spec.initContainers[{i}]"
        _validate_container(init, path, host_limits, strict)
        for probe in ("readinessProbe", "livenessProbe", "startupProbe", "ports"):
            if probe in init:
                raise SpecError(f"{path}.{probe}", "not allowed on init containers")


#: Where each supported volume source names what it mounts (checked as a DNS-1123 subdomain).
VOLUME_SOURCES = {
    "configMap": "name",
    "secret": "secretName",
    "persistentVolumeClaim": "claimName",
    "emptyDir": "",
}


def _validate_volume(volume: Mapping[str, Any], path: str) -> None:
    fields.label(volume.get("name"), f"{path}.name")
    if "hostPath" in volume:
        # Deliberately unsupported: a config-repo author must not reach the host's files.
        raise SpecError(
            f"{path}.hostPath",
            "hostPath volumes are not supported by the podman target (they would expose "
            "the host's files); use a persistentVolumeClaim or emptyDir",
        )
    kinds = set(volume) - {"name"}
    if len(kinds) != 1 or not kinds <= set(VOLUME_SOURCES):
        raise SpecError(path, f"volume type {sorted(kinds)} not supported")
    kind = kinds.pop()
    source = volume[kind] or {}
    if VOLUME_SOURCES[kind]:
        key = VOLUME_SOURCES[kind]
        fields.subdomain(source.get(key), f"{path}.{kind}.{key}")
    for j, item in enumerate(source.get("items") or []):
        fields.relative_path(item.get("path"), f"{path}.{kind}.items[{j}].path")


def _validate_container(
    c: Mapping[str, Any], path: str, host_limits: frozenset[str], strict: bool
) -> None:
    _unknown(c, CONTAINER_FIELDS, path, strict)
    fields.label(c.get("name"), f"{path}.name")
    if not c.get("image"):
        raise SpecError(f"{path}.image", "required")
    fields.image(c["image"], f"{path}.image")
    for i, mount in enumerate(c.get("volumeMounts") or []):
        where = f"{path}.volumeMounts[{i}]"
        fields.label(mount.get("name"), f"{where}.name")
        fields.mount_path(mount.get("mountPath"), f"{where}.mountPath")
        if mount.get("subPath"):
            fields.relative_path(mount["subPath"], f"{where}.subPath")
    for field in ("runAsUser", "runAsGroup"):
        value = (c.get("securityContext") or {}).get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise SpecError(f"{path}.securityContext.{field}", "must be an integer")
    if c.get("imagePullPolicy", "IfNotPresent") not in PULL:
        raise SpecError(f"{path}.imagePullPolicy", "must be Always, IfNotPresent or Never")
    _unknown(c.get("securityContext") or {}, SECURITY_FIELDS, f"{path}.securityContext", strict)
    limits = (c.get("resources") or {}).get("limits") or {}
    for name, value in limits.items():
        if name not in ("cpu", "memory"):
            raise SpecError(f"{path}.resources.limits.{name}", "not supported")
        if name not in host_limits:
            raise SpecError(
                f"{path}.resources.limits.{name}", "this host's cgroups do not allow this limit"
            )
        try:
            quantity.parse(value)
        except ValueError as exc:
            raise SpecError(f"{path}.resources.limits.{name}", str(exc)) from exc
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        spec = c.get(probe)
        if spec is not None and len(PROBE_ACTIONS & set(spec)) != 1:
            raise SpecError(f"{path}.{probe}", "needs exactly one of httpGet, tcpSocket, exec")
    for i, env in enumerate(c.get("env") or []):
        source = env.get("valueFrom") or {}
        ref = source.get("fieldRef")
        if ref and ref.get("fieldPath") not in FIELD_PATHS:
            raise SpecError(f"{path}.env[{i}].valueFrom.fieldRef", "only pod name and namespace")
        if set(source) - {"fieldRef", "configMapKeyRef", "secretKeyRef"}:
            raise SpecError(f"{path}.env[{i}].valueFrom", "not supported")
    for i, env in enumerate(c.get("env") or []):
        fields.env_name(env.get("name"), f"{path}.env[{i}].name")
    for i, port in enumerate(c.get("ports") or []):
        _validate_port(port, f"{path}.ports[{i}]")


def _validate_port(port: Mapping[str, Any], path: str) -> None:
    if port.get("protocol", "TCP") != "TCP":
        raise SpecError(f"{path}.protocol", "only TCP")
    if "name" in port:
        fields.port_name(port["name"], f"{path}.name")
    fields.port_number(port.get("containerPort"), f"{path}.containerPort")
    if "hostPort" in port:
        fields.port_number(port["hostPort"], f"{path}.hostPort")
    if "hostIP" in port:
        try:
            ipaddress.ip_address(str(port["hostIP"]))
        except ValueError as exc:
            raise SpecError(f"{path}.hostIP", "must be an IP address") from exc


FIELD_PATHS = {"metadata.name", "metadata.namespace", "spec.nodeName"}
_REF = re.compile(r"\$\((\w+)\)|\$\$")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: unknown references stay as written, `$$` is `$`."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REF.sub(sub, text)


@dataclass(frozen=True, slots=True, kw_only=True)
class PodContext:
    """Who the replica is, for fieldRef and naming."""

    target: str  # the owning target's name: scopes volume names (`names.scope`)
    namespace: str
    pod: str
    network: str
    aliases: tuple[str, ...]
    labels: Mapping[str, str]
    claims: Mapping[str, str]  # volume name -> podman volume name (PVCs, claim templates)


def _source(lookup: Lookup, kind: str, name: str, optional: bool, path: str) -> Mapping[str, bytes]:
    data = lookup(kind, name)
    if data is None:
        if optional:
            return {}
        raise SpecError(path, f'{kind.lower()} "{name}" not found')
    return data


def _env(c: Mapping[str, Any], ctx: PodContext, lookup: Lookup, path: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for i, source in enumerate(c.get("envFrom") or []):
        kind, ref = (
            ("ConfigMap", source.get("configMapRef"))
            if "configMapRef" in source
            else ("Secret", source.get("secretRef"))
        )
        ref = ref or {}
        data = _source(
            lookup, kind, ref.get("name", ""), bool(ref.get("optional")), f"{path}.envFrom[{i}]"
        )
        for key, raw in data.items():
            env[source.get("prefix", "") + key] = raw.decode(errors="replace")
    for i, item in enumerate(c.get("env") or []):
        env[item["name"]] = _env_value(item, ctx, lookup, env, f"{path}.env[{i}]")
    for key, text in env.items():
        fields.env_name(key, f"{path}.envFrom")
        if "\n" in text:
            raise SpecError(f"{path}.env.{key}", "values with newlines cannot be passed to podman")
    return env


def _env_value(
    item: Mapping[str, Any], ctx: PodContext, lookup: Lookup, env: Mapping[str, str], path: str
) -> str:
    source = item.get("valueFrom")
    if source is None:
        return expand(str(item.get("value", "")), env)
    if "fieldRef" in source:
        field = source["fieldRef"]["fieldPath"]
        return {"metadata.name": ctx.pod, "metadata.namespace": ctx.namespace}.get(
            field, "localhost"
        )
    kind, ref = (
        ("ConfigMap", source["configMapKeyRef"])
        if "configMapKeyRef" in source
        else ("Secret", source["secretKeyRef"])
    )
    data = _source(lookup, kind, ref.get("name", ""), bool(ref.get("optional")), path)
    if ref.get("key") not in data:
        if ref.get("optional"):
            return ""
        raise SpecError(path, f'key "{ref.get("key")}" not in {kind.lower()} "{ref.get("name")}"')
    return data[ref["key"]].decode(errors="replace")


def decoded(obj: Mapping[str, Any]) -> dict[str, bytes]:
    """The data of a stored ConfigMap or Secret as bytes (Secret `data` is base64)."""
    out: dict[str, bytes] = {}
    if obj.get("kind") == "Secret":
        for key, value in (obj.get("data") or {}).items():
            out[key] = base64.b64decode(value)
        for key, value in (obj.get("stringData") or {}).items():
            out[key] = str(value).encode()
        return out
    for key, value in (obj.get("data") or {}).items():
        out[key] = str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        out[key] = base64.b64decode(value)
    return out
