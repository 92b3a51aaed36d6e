"""Render with Kustomize by running the real binary, as Argo CD does.

Uses `kustomize build DIR` when `kustomize` is on PATH, else `kubectl kustomize DIR`
(kubectl embeds kustomize; v5.5 on this machine). Neither present ⇒ a RenderError that
says so. The run has a timeout (Argo CD's default exec timeout is 90 s). The
Application's `kustomize` block (images, namePrefix/Suffix, namespace, labels,
annotations, replicas, patches, components) is applied through a generated overlay
(`kustomize_overlay`) in a fresh temporary directory named after the block's canonical
text and removed after the run, so specs never share one and the user's files (and the
shared export) stay untouched. Called by `reconcile.render`.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from conveyor.reconcile import kustomize_overlay
from conveyor.reconcile.appmodel import KustomizeSpec
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.kustomize_overlay import KUSTOMIZATION_FILES, parse_image
from conveyor.reconcile.manifests import parse_manifests
from conveyor.reconcile.render_jsonnet import substitute
from conveyor.targets.base import Manifest

__all__ = ["KUSTOMIZATION_FILES", "kustomize_command", "parse_image", "render_kustomize"]

DEFAULT_TIMEOUT = 90.0
MAX_OUTPUT = 64 * 1024 * 1024  # bytes of kustomize output, the bound Helm and Jsonnet have
OVERLAY_SHOWN = "(the Application's kustomize overlay)"


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


async def render_kustomize(
    root: Path,
    path: str,
    *,
    spec: KustomizeSpec | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Manifest]:
    """`kustomize build` of `root/path`, with `spec` applied as an overlay when set."""
    if spec is None or spec.empty:
        return await _build(root / path, root=root, path=path, timeout=timeout)
    key = hashlib.sha256(repr(spec).encode()).hexdigest()[:16]
    where = Path(tempfile.mkdtemp(prefix=f"conveyor-kustomize-{key}-"))
    try:
        _write_overlay(spec, root=root, path=path, where=where, env=env or {})
        return await _build(where, root=root, path=path, timeout=timeout)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _write_overlay(
    spec: KustomizeSpec, *, root: Path, path: str, where: Path, env: Mapping[str, str]
) -> None:
    app_dir = root / path
    base = kustomize_overlay.read_base(app_dir, path)
    data = kustomize_overlay.overlay(
        spec,
        root=root,
        app_dir=app_dir.resolve(),
        where=where.resolve(),
        base=base,
        subst=lambda value, what: substitute(value, env, where=what),
    )
    (where / "kustomization.yaml").write_text(kustomize_overlay.dump(data))


async def _build(directory: Path, *, root: Path, path: str, timeout: float) -> list[Manifest]:
    # An overlay generated over a directory without a kustomization lists the app's files
    # from the temporary overlay directory: kustomize must be allowed to load them there.
    generated = directory != root / path and not kustomize_overlay.has_kustomization(root / path)
    relaxed = ["--load-restrictor", "LoadRestrictionsNone"] if generated else []
    proc = await asyncio.create_subprocess_exec(
        *kustomize_command(),
        *relaxed,
        str(directory),
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
    if len(out) > MAX_OUTPUT:
        raise RenderError(
            f"kustomize output of {path} is {len(out)} bytes, over the limit of {MAX_OUTPUT}",
            hint="split the app: one render should not be that large",
        )
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip()
        for absolute, shown in ((directory.resolve(), OVERLAY_SHOWN), (root.resolve(), "")):
            message = message.replace(str(absolute) + "/", shown).replace(str(absolute), shown)
        overlaid = (
            ", with the Application's kustomize settings added" if directory != root / path else ""
        )
        raise RenderError(
            f"kustomize failed on {path}: {message}",
            hint=f"run `kubectl kustomize` on the path to reproduce{overlaid}",
        )
    return parse_manifests(out.decode(), f"{path} (kustomize output)")
