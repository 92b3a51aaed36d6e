"""Run a rendered pod's container as a local process, the way the kubelet would start it:
its `args` after the image's entrypoint (`conveyor`), its `env` with `secretKeyRef`s resolved
from given Secret data and `$(VAR)` references expanded in the arguments, and each volume
mount mapped to a folder under `root` (ConfigMap and Secret volumes written out with their
items and modes). Addresses are moved to 127.0.0.1: nothing listens beyond loopback here, and
a Service's DNS name (`http://NAME.NAMESPACE.svc:PORT`) becomes 127.0.0.1 too (each Service
here has one pod, listening on the Service's port).

A stand-in for the kubelet, not one: no image, no user switch (the process runs as the test's
user), no cgroups or read-only root. Used by test_commands to check that the commands and
configuration the manifests give Conveyor start it and reach the probes' endpoints.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENTRYPOINT = "conveyor"  # deploy/Containerfile's ENTRYPOINT
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_SERVICE_HOST = re.compile(r"(?<=://)[a-z0-9-]+\.[a-z0-9-]+\.svc(?:\.cluster\.local)?(?=[:/])")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalPod:
    """What a container becomes here: argv, environment, and where each mount went."""

    argv: tuple[str, ...]
    env: dict[str, str]
    mounts: dict[str, Path]

    def start(self, log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)


def find(items: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in items if o["kind"] == kind and o["metadata"]["name"] == name)


def prepare(
    items: list[dict[str, Any]],
    deployment: str,
    *,
    secrets: dict[str, dict[str, str]],
    root: Path,
    base_env: dict[str, str],
) -> LocalPod:
    """The first container of Deployment `deployment`, ready to start under `root`."""
    spec = find(items, "Deployment", deployment)["spec"]["template"]["spec"]
    container = spec["containers"][0]
    volumes = {v["name"]: v for v in spec.get("volumes", ())}
    given = container.get("volumeMounts", ())
    mounts = {m["mountPath"]: root / m["name"] for m in given}
    for mount in given:
        folder = mounts[mount["mountPath"]]
        folder.mkdir(parents=True, exist_ok=True)
        _fill(folder, volumes[mount["name"]], items, secrets, mounts)
    env = {**base_env}
    for var in container.get("env", ()):
        env[var["name"]] = _value(var, secrets, mounts)
    exe = Path(sys.executable).with_name(ENTRYPOINT)  # the venv's console script
    if not exe.exists():
        raise RuntimeError(f"{exe} is missing: run `make install`")
    args = [_localized(_expanded(a, env), mounts) for a in container["args"]]
    return LocalPod(argv=(str(exe), *args), env=env, mounts=mounts)


def _value(var: dict[str, Any], secrets: dict[str, dict[str, str]], mounts: dict[str, Path]) -> str:
    if "value" in var:
        return _localized(str(var["value"]), mounts)
    ref = var["valueFrom"]["secretKeyRef"]
    return secrets[ref["name"]][ref["key"]]


def _expanded(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion in args (unknown references stay as written)."""
    return _REFERENCE.sub(lambda m: env.get(m[1], m[0]), arg)


def _localized(text: str, mounts: dict[str, Path]) -> str:
    """Mount paths replaced by their folders in one pass (a folder may itself start with a
    mount path, as /tmp/... does), the all-interfaces address by loopback."""
    if mounts:
        paths = "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
        text = re.sub(rf"(?<![\w/])({paths})(?=/|$|\b)", lambda m: str(mounts[m[1]]), text)
    return _SERVICE_HOST.sub("127.0.0.1", text.replace("0.0.0.0", "127.0.0.1"))


def _fill(
    folder: Path,
    volume: dict[str, Any],
    items: list[dict[str, Any]],
    secrets: dict[str, dict[str, str]],
    mounts: dict[str, Path],
) -> None:
    """A ConfigMap's files name paths inside the pod: they are mapped like the arguments."""
    if "configMap" in volume:
        data = find(items, "ConfigMap", volume["configMap"]["name"])["data"]
        for key, text in data.items():
            (folder / key).write_text(_localized(text, mounts))
    elif "secret" in volume:
        source = volume["secret"]
        data = secrets[source["secretName"]]
        for item in source.get("items") or [{"key": k, "path": k} for k in data]:
            file = folder / item["path"]
            file.write_text(data[item["key"]])
            file.chmod(source.get("defaultMode", 0o644))
