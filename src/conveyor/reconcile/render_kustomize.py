"""Render with Kustomize by running the real binary, as Argo CD does.

Uses `kustomize build DIR` when `kustomize` is on PATH, else `kubectl kustomize DIR`
(kubectl embeds kustomize; v5.5 on this machine). Neither present ⇒ a RenderError that
says so. The run has a timeout (Argo CD's default exec timeout is 90 s). The Application's
`kustomize.images` / `namePrefix` are applied through a generated overlay next to the
exported tree (Argo CD runs `kustomize edit set image` on a copy; an overlay leaves the
user's files untouched). Called by `reconcile.render`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.manifests import parse_manifests
from conveyor.targets.base import Manifest

DEFAULT_TIMEOUT = 90.0
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomize_command() -> list[str]:
    """argv prefix of the kustomize found on PATH; RenderError when there is none."""
    if found := shutil.which("kustomize"):
        return [found, "build"]
    if found := shutil.which("kubectl"):
        return [found, "kustomize"]
    raise RenderError(
        "Kustomize source, but neither `kustomize` nor `kubectl` is on PATH",
        hint="install kustomize (or kubectl, which embeds it)",
    )


def parse_image(spec: str) -> dict[str, str]:
    """Argo CD's image override syntax: `[old=]new[:tag][@digest]` → a kustomize entry."""
    old, _, new = spec.partition("=") if "=" in spec else (None, "", spec)
    entry: dict[str, str] = {}
    if "@" in new:
        new, entry["digest"] = new.split("@", 1)
    slash = new.rfind("/")
    if new.rfind(":") > slash:
        new, entry["newTag"] = new.rsplit(":", 1)
    entry["name"] = old or new
    if old and new != old:
        entry["newName"] = new
    return entry


def overlay(root: Path, path: str, *, images: Sequence[str], name_prefix: str) -> Path:
    """A generated kustomization applying the app's overrides on top of `path`."""
    spec: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
    }
    target = (root / path).resolve()
    key = hashlib.sha256(repr((path, tuple(images), name_prefix)).encode()).hexdigest()[:16]
    where = root / ".conveyor-overlays" / key
    spec["resources"] = [os.path.relpath(target, where)]
    if images:
        spec["images"] = [parse_image(i) for i in images]
    if name_prefix:
        spec["namePrefix"] = name_prefix
    where.mkdir(parents=True, exist_ok=True)
    (where / "kustomization.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return where


async def render_kustomize(
    root: Path,
    path: str,
    *,
    images: Sequence[str] = (),
    name_prefix: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Manifest]:
    directory = root / path
    if images or name_prefix:
        directory = overlay(root, path, images=images, name_prefix=name_prefix)
    argv = [*kustomize_command(), str(directory)]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise RenderError(
            f"kustomize timed out after {timeout:g}s on {path}",
            hint="simplify the kustomization or raise the render timeout",
        ) from exc
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().replace(str(root) + "/", "")
        raise RenderError(
            f"kustomize failed on {path}: {message}",
            hint="run `kubectl kustomize` on the path to reproduce",
        )
    return parse_manifests(out.decode(), f"{path} (kustomize output)")
