"""`--from ENV --to ENV`: "build once, promote everywhere".

Reads the exact references (tag and digest) running in the source stage, from its
manifests, kustomization `images:` (and the workloads its local resources reach) and Helm
values, and turns each into an `EditSpec` for the target stage. The target must be the
next stage in `promotion.yaml` order; skipping one (or going backwards) needs `--force`.

Pure over the planner's `Tree`. Called by `service`.
"""

from __future__ import annotations

import posixpath

from conveyor.promote import kustomize, paths, workloads
from conveyor.promote.config import HelmTarget, PromotionConfig, Stage
from conveyor.promote.errors import PromoteInputError
from conveyor.promote.imageref import ImageRef, same_repository, try_parse
from conveyor.promote.planner import EditSpec, Tree, normalize


def check_order(config: PromotionConfig, source: str, target: str, *, force: bool) -> None:
    start, end = config.index(source), config.index(target)
    if end == start + 1 or force:
        return
    order = " → ".join(s.name for s in config.stages)
    raise PromoteInputError(
        f"cannot promote {source} → {target}: stage order is {order}",
        hint="promote one stage at a time, or pass --force",
    )


def running(tree: Tree, stage: Stage) -> list[ImageRef]:
    """Every image reference the stage runs (first seen wins per repository)."""
    found: list[ImageRef] = []
    for target in (normalize(p) for p in stage.paths):
        found += _images_at(tree, target, depth=0)
    for helm in stage.helm:
        found += _helm_image(tree, helm)
    unique: list[ImageRef] = []
    for ref in found:
        if not any(same_repository(ref, seen) for seen in unique):
            unique.append(ref)
    return unique


def copy_specs(
    tree: Tree, config: PromotionConfig, source: str, target: str, image: ImageRef | None
) -> list[EditSpec]:
    refs = running(tree, config.stage(source))
    if image is not None:
        refs = [r for r in refs if same_repository(r, image)]
    if not refs:
        what = image.name if image else "any image"
        raise PromoteInputError(
            f"{source} does not run {what}", hint="check --image and promotion.yaml paths"
        )
    return [
        EditSpec(
            image=ImageRef(registry=r.registry, path=r.path), tag=r.tag, digest=r.digest, env=target
        )
        for r in refs
    ]


def _images_at(tree: Tree, target: str, *, depth: int) -> list[ImageRef]:
    if depth > 20:
        return []
    if tree.is_dir(target):
        kfile = next(
            (
                f"{target}/{n}".lstrip("/")
                for n in kustomize.NAMES
                if tree.read(f"{target}/{n}".lstrip("/")) is not None
            ),
            None,
        )
        if kfile is None:
            return [
                ref
                for f in tree.files_under(target)
                if f.endswith((".yaml", ".yml"))
                for ref in _workload_refs(tree, f)
            ]
        target = kfile
    if posixpath.basename(target) not in kustomize.NAMES:
        return _workload_refs(tree, target)
    text = (tree.read(target) or b"").decode("utf-8", "replace")
    base = posixpath.dirname(target)
    below = [
        ref
        for res in kustomize.resources(text, target)
        for ref in _images_at(tree, posixpath.normpath(posixpath.join(base, res)), depth=depth + 1)
    ]
    entries = kustomize.entries(text, target)
    if not below:  # remote bases: the entries are all we know
        return [r for e in entries if (r := try_parse(e.reference)) is not None]
    return [_render(ref, entries) for ref in below]


def _render(ref: ImageRef, entries: list[kustomize.Entry]) -> ImageRef:
    """What kustomize renders for `ref` given the `images:` entries (newName/newTag/digest)."""
    for entry in entries:
        name = try_parse(entry.name)
        target = try_parse(entry.target)
        if name is None or target is None or not same_repository(name, ref):
            continue
        if entry.digest:
            return target.with_version(tag=entry.tag, digest=entry.digest)
        return target.with_version(tag=entry.tag or ref.tag, digest=ref.digest)
    return ref


def _workload_refs(tree: Tree, file: str) -> list[ImageRef]:
    data = tree.read(file)
    if data is None:
        return []
    return [f.ref for f in workloads.image_fields(data.decode("utf-8", "replace"), file)]


def _helm_image(tree: Tree, helm: HelmTarget) -> list[ImageRef]:
    file = helm.file
    data = tree.read(normalize(file))
    if data is None:
        return []
    text = data.decode("utf-8", "replace")

    def first(key: str | None) -> str | None:
        values = paths.get_values(text, file, paths.parse_path(key)) if key else []
        return values[0] if values else None

    name = first(helm.repository) or helm.image
    ref = try_parse(name) if name else None
    if ref is None:
        return []
    return [ref.with_version(tag=first(helm.tag) or None, digest=first(helm.digest) or None)]
