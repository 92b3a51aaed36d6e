"""One replica's `podman run` plan from its pod template (pure).

Volumes: `configMap` and `secret` become files under the replica's private run directory
(`{run}` in flags; the target keeps it under a 0700 directory, so Secret files are never
world-readable on the host) bind-mounted read-only; `emptyDir` is a directory there;
`persistentVolumeClaim` and StatefulSet claim templates are named Podman volumes.
Env goes through an env file written 0600, never onto a command line or into a log.
Called by `conveyor.targets.podman.actuate` when it creates a replica.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conveyor.targets.podman import fields, names, quantity
from conveyor.targets.podman.spec import (
    PULL,
    HostFile,
    Lookup,
    PodContext,
    RunPlan,
    SpecError,
    _env,
    _source,
    expand,
)


def _volume_files(volume: Mapping[str, Any], lookup: Lookup, path: str) -> list[HostFile]:
    name = volume["name"]
    if "emptyDir" in volume:
        return [HostFile(path=f"{name}/", data=b"", mode=0o777)]
    if "configMap" in volume:
        src, kind, ref_name = volume["configMap"], "ConfigMap", volume["configMap"].get("name")
    else:
        src, kind, ref_name = volume["secret"], "Secret", volume["secret"].get("secretName")
    data = _source(lookup, kind, str(ref_name or ""), bool(src.get("optional")), path)
    mode = int(src.get("defaultMode", 0o644))
    items = src.get("items") or [{"key": k, "path": k} for k in sorted(data)]
    files = [HostFile(path=f"{name}/", data=b"", mode=0o755)]
    for item in items:
        if item["key"] not in data:
            raise SpecError(path, f'key "{item["key"]}" not in {kind.lower()} "{ref_name}"')
        rel = fields.relative_path(item.get("path", item["key"]), f"{path}.items.path")
        files.append(
            HostFile(path=f"{name}/{rel}", data=data[item["key"]], mode=int(item.get("mode", mode)))
        )
    return files


def _mounts(
    c: Mapping[str, Any], volumes: Mapping[str, Mapping[str, Any]], ctx: PodContext, path: str
) -> list[str]:
    flags: list[str] = []
    for i, mount in enumerate(c.get("volumeMounts") or []):
        where = f"{path}.volumeMounts[{i}]"
        volume = volumes.get(mount.get("name", ""))
        if volume is None and mount.get("name") not in ctx.claims:
            raise SpecError(where, f'no volume named "{mount.get("name")}"')
        read_only = bool(mount.get("readOnly")) or (
            volume is not None and ("configMap" in volume or "secret" in volume)
        )
        sub = str(mount.get("subPath", "")).strip("/")
        if mount["name"] in ctx.claims or (volume and "persistentVolumeClaim" in volume):
            if sub:
                raise SpecError(f"{where}.subPath", "not supported on claims")
            source = ctx.claims[mount["name"]]
        else:
            source = "{run}/" + mount["name"] + (f"/{sub}" if sub else "")
        flags += ["-v", f"{source}:{mount['mountPath']}:{'ro' if read_only else 'rw'}"]
    return flags


def _security(c: Mapping[str, Any], pod_ctx: Mapping[str, Any]) -> list[str]:
    sec = {**pod_ctx, **(c.get("securityContext") or {})}
    flags: list[str] = []
    if "runAsUser" in sec:
        group = f":{sec['runAsGroup']}" if "runAsGroup" in sec else ""
        flags += ["--user", f"{sec['runAsUser']}{group}"]
    if sec.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    return flags


def _resources(c: Mapping[str, Any]) -> list[str]:
    limits = (c.get("resources") or {}).get("limits") or {}
    flags: list[str] = []
    if "cpu" in limits:
        flags += ["--cpus", quantity.cpus(limits["cpu"])]
    if "memory" in limits:
        flags += ["--memory", quantity.memory_bytes(limits["memory"])]
    return flags


def plan_container(pod_spec: Mapping[str, Any], ctx: PodContext, lookup: Lookup) -> RunPlan:
    """The plan for the pod's (single) container; `SpecError` when a reference is missing."""
    c = pod_spec["containers"][0]
    path = "spec.containers[0]"
    env = _env(c, ctx, lookup, path)
    volumes = {v["name"]: v for v in pod_spec.get("volumes") or []}
    claims = dict(ctx.claims)
    files: list[HostFile] = []
    for i, volume in enumerate(volumes.values()):
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            claims.setdefault(volume["name"], names.volume_name(ctx.target, ctx.namespace, claim))
        else:
            files += _volume_files(volume, lookup, f"spec.volumes[{i}]")
    ctx = replace(ctx, claims=claims)
    flags = ["--network", ctx.network, "--hostname", str(pod_spec.get("hostname") or ctx.pod)]
    for alias in ctx.aliases:
        flags += ["--network-alias", alias]
    for key, value in sorted(ctx.labels.items()):
        flags += ["--label", f"{key}={value}"]
    flags += ["--pull", PULL[c.get("imagePullPolicy", "IfNotPresent")]]
    flags += _mounts(c, volumes, ctx, path) + _security(c, pod_spec.get("securityContext") or {})
    flags += _resources(c)
    if c.get("workingDir"):
        flags += ["--workdir", str(c["workingDir"])]
    for port in c.get("ports") or []:
        if "hostPort" in port:
            host = port.get("hostIP", "127.0.0.1")
            flags += ["-p", f"{host}:{port['hostPort']}:{port['containerPort']}"]
    if c.get("command"):
        flags += ["--entrypoint", json.dumps([expand(str(a), env) for a in c["command"]])]
    command = tuple(expand(str(a), env) for a in c.get("args") or [])
    return RunPlan(
        image=str(c["image"]),
        flags=tuple(flags),
        command=command,
        env=tuple(sorted(env.items())),
        files=tuple(files),
        container=c,
    )
