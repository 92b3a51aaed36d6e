"""The Application's `kustomize` block as a generated overlay over the app's kustomization.

Argo CD applies the block by running `kustomize edit set nameprefix / namesuffix / image
/ replicas / namespace`, `edit add label / annotation / component` and by appending
`patches` on a copy of the app's kustomization. Conveyor writes the same settings into an
overlay kustomization whose only resource is the app's directory and lets the real
kustomize apply them; the result is the same because kustomize matches patches,
replicas and components by an object's original name as well as its current one. Where an
in-place edit and an overlay would differ, the overlay follows Argo CD or refuses:

* `namePrefix` / `nameSuffix` replace the kustomization's own (an overlay would stack
  them): equal ⇒ left to the kustomization, different ⇒ RenderError.
* `commonLabels` / `commonAnnotations` whose key the kustomization already sets fail as
  `kustomize edit add label` fails, unless `forceCommonLabels` / `forceCommonAnnotations`
  (then the Application's value wins). `labelWithoutSelector` adds a `labels` entry with
  `includeSelectors: false` (selectors and pod templates untouched), as `--without-selector`.
* An `images` override for an image the kustomization renames (`newName`) is written
  for the new name, as `kustomize edit set image` merges into the existing entry.
* `patches` with `path:` (relative to the app's path, inside the repository) are inlined,
  because kustomize reads patch files only below the overlay; `components` (relative to
  the app's path) must exist unless `ignoreMissingComponents`, as in Argo CD.
* `apiVersions` / `kubeVersion` reach only Helm charts inflated by kustomize
  (`--helm-api-versions` with `--enable-helm`), which Conveyor does not run: refused.

Pure: builds the overlay's content; `render_kustomize` writes and runs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from conveyor.reconcile.appmodel import KustomizeSpec
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.manifests import file_manifests

Subst = Callable[[str, str], str]  # (value, where) -> value with the build environment
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


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


def read_base(directory: Path, shown: str) -> dict[str, Any]:
    """The app's own kustomization (the file Argo CD would edit); {} when absent."""
    file = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if file is None:
        return {}
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise RenderError(f"{shown}/{file.name} is not valid YAML: {exc}") from exc
    return data if isinstance(data, dict) else {}


def overlay(
    spec: KustomizeSpec,
    *,
    root: Path,
    app_dir: Path,
    where: Path,
    base: Mapping[str, Any],
    subst: Subst,
) -> dict[str, Any]:
    """The overlay kustomization for `spec` over `app_dir`, to be written at `where`."""
    _refuse_helm_only(spec)
    out: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": _resources(app_dir, where, base),
    }
    for field, value in (("namePrefix", spec.name_prefix), ("nameSuffix", spec.name_suffix)):
        if value and _name_affix(field, value, base):
            out[field] = value
    if spec.namespace:
        out["namespace"] = spec.namespace
    if spec.images:
        out["images"] = [_image(i, base, subst) for i in spec.images]
    if spec.replicas:
        out["replicas"] = [{"name": r.name, "count": r.count} for r in spec.replicas]
    out.update(_labels(spec, base, subst))
    if spec.common_annotations:
        annotations = dict(spec.common_annotations)
        _conflicts("commonAnnotations", annotations, base, spec.force_common_annotations)
        out["commonAnnotations"] = annotations
    if spec.patches:
        out["patches"] = [_patch(p, i, root, app_dir) for i, p in enumerate(spec.patches_data())]
    components = _components(spec, root, app_dir)
    if components:
        out["components"] = [os.path.relpath(c, where) for c in components]
    return out


def has_kustomization(directory: Path) -> bool:
    return any((directory / n).is_file() for n in KUSTOMIZATION_FILES)


def _resources(app_dir: Path, where: Path, base: Mapping[str, Any]) -> list[str]:
    """The app's directory when it is a kustomization; otherwise what Flux's generated
    kustomization lists: every manifest below it (not the files a directory source skips),
    and each subdirectory that is a kustomization of its own as one entry (a Flux
    Kustomization's path needs no file)."""
    if base or has_kustomization(app_dir):
        return [os.path.relpath(app_dir, where)]
    found: list[str] = []
    for current, dirs, files in os.walk(app_dir):
        here = Path(current)
        if here != app_dir and has_kustomization(here):
            found.append(os.path.relpath(here, where))
            dirs.clear()
            continue
        dirs.sort()
        found.extend(
            os.path.relpath(here / f, where)
            for f in sorted(files)
            if f.endswith((".yaml", ".yml", ".json")) and _lists(here / f, app_dir)
        )
    if not found:
        raise RenderError(
            f"{app_dir.name} holds no kustomization and no manifests",
            hint="point the path at a kustomization or at a directory of manifests",
        )
    return found


def _lists(file: Path, app_dir: Path) -> bool:
    """Whether a generated kustomization lists `file`: not when it is a file a directory
    source skips (`manifests.file_manifests`: the skip marker, YAML that is not Kubernetes
    such as a `.sops.yaml`), which kustomize would refuse as a resource."""
    shown = f"{app_dir.name}/{file.relative_to(app_dir).as_posix()}"
    return bool(file_manifests(file.read_text(), shown))


def _refuse_helm_only(spec: KustomizeSpec) -> None:
    if spec.api_versions or spec.kube_version:
        raise RenderError(
            "kustomize.apiVersions / kustomize.kubeVersion only reach Helm charts that "
            "kustomize inflates (--enable-helm), which Conveyor does not run",
            hint="remove them; render Helm charts with a helm source instead",
        )


def _name_affix(field: str, value: str, base: Mapping[str, Any]) -> bool:
    """True when the overlay must set `field`; RenderError when it cannot match Argo CD."""
    own = base.get(field) or ""
    if own and own != value:
        raise RenderError(
            f"kustomize.{field} {value!r} would replace the kustomization's own "
            f"{field} {own!r} in Argo CD (kustomize edit set), which an overlay cannot undo",
            hint=f"set {field} in one place: the kustomization or the Application",
        )
    return not own


def _image(override: str, base: Mapping[str, Any], subst: Subst) -> dict[str, str]:
    entry = parse_image(subst(override, "kustomize.images"))
    for own in base.get("images") or []:
        if isinstance(own, dict) and own.get("name") == entry["name"] and own.get("newName"):
            entry["name"] = str(own["newName"])  # the image as the kustomization emits it
            if entry.get("newName") == entry["name"]:
                del entry["newName"]
    return entry


def _labels(spec: KustomizeSpec, base: Mapping[str, Any], subst: Subst) -> dict[str, Any]:
    if not spec.common_labels:
        return {}
    labels = {k: subst(v, f"kustomize.commonLabels {k!r}") for k, v in spec.common_labels}
    if spec.label_without_selector:
        return {"labels": [{"pairs": labels, "includeSelectors": False}]}
    _conflicts("commonLabels", labels, base, spec.force_common_labels)
    return {"commonLabels": labels}


def _conflicts(field: str, wanted: Mapping[str, str], base: Mapping[str, Any], force: bool) -> None:
    """`kustomize edit add label/annotation` refuses a key the file has, unless --force."""
    own = base.get(field) or {}
    clash = sorted(k for k in wanted if k in own and not force)
    if clash:
        flag = "forceCommonLabels" if field == "commonLabels" else "forceCommonAnnotations"
        raise RenderError(
            f"kustomize.{field} {', '.join(clash)} already set in the kustomization "
            f"(Argo CD's `kustomize edit add` fails the same way)",
            hint=f"set kustomize.{flag}: true to let the Application's value win",
        )


def _patch(patch: Any, index: int, root: Path, app_dir: Path) -> dict[str, Any]:
    entry = dict(patch)
    if "path" in entry:
        file = inside(root, app_dir / str(entry.pop("path")), f"kustomize.patches[{index}].path")
        if not file.is_file():
            raise RenderError(
                f"kustomize.patches[{index}].path: {file.relative_to(root)} does not exist",
                hint="paths of patches are relative to spec.source.path",
            )
        entry["patch"] = file.read_text()
    return entry


def _components(spec: KustomizeSpec, root: Path, app_dir: Path) -> list[Path]:
    found = []
    for index, name in enumerate(spec.components):
        path = inside(root, app_dir / name, f"kustomize.components[{index}]")
        if path.is_dir():
            found.append(path)
        elif not spec.ignore_missing_components:
            raise RenderError(
                f"kustomize.components[{index}]: {name!r} does not exist "
                f"(looked for {path.relative_to(root)})",
                hint="component paths are relative to spec.source.path; "
                "set ignoreMissingComponents: true to skip missing ones",
            )
    return found


def inside(root: Path, path: Path, what: str) -> Path:
    """`path` resolved, refused when it leaves the repository (Argo CD's securejoin)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise RenderError(
            f"{what} points outside the repository", hint="use a path inside the repository"
        )
    return resolved


def dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False)
