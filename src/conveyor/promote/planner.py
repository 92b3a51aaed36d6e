"""From a promotion request and a snapshot of the config repo to the exact file edits.

Targets come from `--path` (files or directories) or from the environment's entry in
`promotion.yaml`, plus its Helm key paths and any `--set` expressions. A directory with a
kustomization is edited through its `images:` (the image must be reachable from its local
resources or already listed); any other directory through the workload manifests below it.
The image must be found somewhere, else nothing is written (exit 2).

Pure: reads through the `Tree` protocol (a Git snapshot in production, a dict in tests).
Called by `writeback` on every attempt, so a retry re-applies the edit on the new tip.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Protocol

from conveyor.promote import kustomize, paths, workloads
from conveyor.promote.config import FILE_NAME, HelmTarget, PromotionConfig, Stage, parse_config
from conveyor.promote.errors import PromoteInputError
from conveyor.promote.imageref import ImageRef, same_repository, try_parse
from conveyor.promote.paths import SetExpr
from conveyor.promote.workloads import Change, EditResult

YAML_SUFFIXES = (".yaml", ".yml")


class Tree(Protocol):
    def read(self, path: str) -> bytes | None: ...
    def is_dir(self, path: str) -> bool: ...
    def files_under(self, path: str) -> list[str]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EditSpec:
    """What to write: the image (repository) and its new tag/digest, and where."""

    image: ImageRef | None
    tag: str | None = None
    digest: str | None = None
    env: str | None = None
    paths: tuple[str, ...] = ()
    sets: tuple[SetExpr, ...] = ()

    @property
    def reference(self) -> str:
        if self.image is None:
            return ""
        return str(self.image.with_version(tag=self.tag, digest=self.digest))


@dataclass(frozen=True, slots=True, kw_only=True)
class FileEdit:
    path: str
    old: bytes
    new: bytes
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    edits: tuple[FileEdit, ...]  # only files whose bytes change
    changes: tuple[Change, ...]  # every matched field, changed or not
    observed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # path → old values

    @property
    def noop(self) -> bool:
        return not self.edits


def load_config(tree: Tree) -> PromotionConfig | None:
    data = tree.read(FILE_NAME)
    return None if data is None else parse_config(data.decode("utf-8", "replace"))


def normalize(path: str) -> str:
    clean = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if clean.startswith("..") or clean == ".":
        return "" if clean == "." else _escape(path)
    return clean


def _escape(path: str) -> str:
    raise PromoteInputError(f"path {path!r} leaves the repository", hint="use a repo-relative path")


class _Work:
    """Files read and edited so far in this plan (edits to one file accumulate)."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.texts: dict[str, str] = {}
        self.originals: dict[str, bytes] = {}
        self.changes: dict[str, list[Change]] = {}

    def text(self, path: str) -> str:
        if path not in self.texts:
            data = self.tree.read(path)
            if data is None:
                raise PromoteInputError(
                    f"{path}: no such file in the repository", hint="check --path / promotion.yaml"
                )
            try:
                self.texts[path] = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PromoteInputError(f"{path}: not UTF-8 text") from exc
            self.originals[path] = data
        return self.texts[path]

    def record(self, path: str, result: EditResult) -> bool:
        self.texts[path] = result.text
        self.changes.setdefault(path, []).extend(result.changes)
        return result.found


def plan(tree: Tree, spec: EditSpec, config: PromotionConfig | None = None) -> Plan:
    """The edits `spec` makes to `tree`; raises PromoteInputError when nothing matches."""
    work = _Work(tree)
    found = False
    stage = _stage(tree, spec, config)
    targets = [normalize(p) for p in (stage.paths if stage else spec.paths)]
    if spec.image is not None:
        for target in targets:
            found = _edit_target(work, target, spec) or found
        for helm in stage.helm if stage else ():
            found = _edit_helm(work, helm, spec) or found
    for expr in spec.sets:
        file = normalize(expr.file)
        result = paths.set_value(work.text(file), file, expr.path, expr.value, shown=expr.text)
        if not result.found:
            raise PromoteInputError(
                f"{file}: path {expr.text} not found",
                hint="check the path; --set never creates keys",
            )
        found = work.record(file, result) or found
    if not found:
        where = ", ".join(targets) or "(no paths)"
        raise PromoteInputError(
            f"image {spec.image.name if spec.image else '?'} is not used in {where}",
            hint="check --image, or point --path/--env at the files that run it",
        )
    edits = tuple(
        FileEdit(
            path=p,
            old=work.originals[p],
            new=t.encode("utf-8"),
            changes=tuple(work.changes.get(p, ())),
        )
        for p, t in work.texts.items()
        if t.encode("utf-8") != work.originals[p]
    )
    observed = {p: tuple(c.old for c in cs) for p, cs in work.changes.items()}
    all_changes = tuple(c for cs in work.changes.values() for c in cs)
    return Plan(edits=edits, changes=all_changes, observed=observed)


def _stage(tree: Tree, spec: EditSpec, config: PromotionConfig | None) -> Stage | None:
    if spec.env is None:
        if not spec.paths and not spec.sets:
            raise PromoteInputError("say where to promote", hint="give --env ENV or --path PATH")
        return None
    config = config or load_config(tree)
    if config is None:
        raise PromoteInputError(
            f"--env needs a {FILE_NAME} at the repository root",
            hint="add one, or give --path instead of --env",
        )
    return config.stage(spec.env)


def _edit_target(work: _Work, target: str, spec: EditSpec) -> bool:
    tree = work.tree
    if tree.is_dir(target):
        kfile = next(
            (
                f"{target}/{n}".lstrip("/")
                for n in kustomize.NAMES
                if tree.read(f"{target}/{n}".lstrip("/")) is not None
            ),
            None,
        )
        if kfile is not None:
            return _edit_kustomization(work, kfile, spec)
        files = [f for f in tree.files_under(target) if f.endswith(YAML_SUFFIXES)]
        hits = [_edit_manifest(work, f, spec) for f in files]  # edit all: no short-circuit
        return any(hits)
    if posixpath.basename(target) in kustomize.NAMES:
        return _edit_kustomization(work, target, spec)
    return _edit_manifest(work, target, spec)


def _mentions(text: str, image: ImageRef) -> bool:
    """A cheap pre-check before parsing: the image's last path segment must appear."""
    return image.path.rsplit("/", 1)[-1] in text


def _edit_manifest(work: _Work, file: str, spec: EditSpec) -> bool:
    assert spec.image is not None
    if not _mentions(work.text(file), spec.image):  # YAML parsing is most of a plan's time
        return False
    result = workloads.set_image(
        work.text(file), file, spec.image, tag=spec.tag, digest=spec.digest
    )
    return work.record(file, result)


def _edit_kustomization(work: _Work, file: str, spec: EditSpec) -> bool:
    assert spec.image is not None
    text = work.text(file)
    result = kustomize.set_image(text, file, spec.image, tag=spec.tag, digest=spec.digest)
    if not result.found and not _reaches(work.tree, file, spec.image, depth=0):
        return False
    work.record(file, result)
    return True


def _reaches(tree: Tree, kfile: str, image: ImageRef, *, depth: int) -> bool:
    """Whether a local resource of kustomization `kfile` (recursively) runs `image`."""
    data = tree.read(kfile)
    if data is None or depth > 20:
        return False
    text = data.decode("utf-8", "replace")
    if depth and kustomize.matching(text, kfile, image):
        return True
    base = posixpath.dirname(kfile)
    for resource in kustomize.resources(text, kfile):
        path = posixpath.normpath(posixpath.join(base, resource))
        if tree.is_dir(path):
            sub = next(
                (f"{path}/{n}" for n in kustomize.NAMES if tree.read(f"{path}/{n}") is not None),
                None,
            )
            if sub and _reaches(tree, sub, image, depth=depth + 1):
                return True
        elif (
            (body := tree.read(path)) is not None
            and _mentions(body.decode("utf-8", "replace"), image)
            and any(
                same_repository(f.ref, image)
                for f in workloads.image_fields(body.decode("utf-8", "replace"), path)
            )
        ):
            return True
    return False


def _edit_helm(work: _Work, helm: HelmTarget, spec: EditSpec) -> bool:
    assert spec.image is not None
    file = normalize(helm.file)
    text = work.text(file)
    if not _helm_matches(text, file, helm, spec.image):
        return False
    if spec.tag is None and not helm.digest:
        raise PromoteInputError(
            f"{file}: promotion.yaml declares no digest key for this image",
            hint="give --tag, or add `digest:` to the helm entry",
        )
    hit = False
    if spec.tag is not None and helm.tag:
        hit = _set_key(work, file, helm.tag, spec.tag, required=True)
    if helm.digest and (spec.digest or spec.tag is not None):  # a tag alone clears the digest
        hit = (
            _set_key(work, file, helm.digest, spec.digest or "", required=bool(spec.digest)) or hit
        )
    return hit


def _helm_matches(text: str, file: str, helm: HelmTarget, image: ImageRef) -> bool:
    if helm.image is not None:
        declared = try_parse(helm.image)
        return declared is not None and same_repository(declared, image)
    current = paths.get_values(text, file, paths.parse_path(helm.repository or ""))
    return any((ref := try_parse(v)) is not None and same_repository(ref, image) for v in current)


def _set_key(work: _Work, file: str, key: str, value: str, *, required: bool) -> bool:
    result = paths.set_value(work.text(file), file, paths.parse_path(key), value, shown=key)
    if not result.found and required:
        raise PromoteInputError(
            f"{file}: key {key} not found", hint="fix the key path in promotion.yaml"
        )
    return work.record(file, result)
