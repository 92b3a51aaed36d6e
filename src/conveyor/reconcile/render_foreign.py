"""Files another renderer would read: a directory render must not pass over them quietly.

Argo CD's `directory` source evaluates `*.jsonnet` files alongside the YAML, so a render
that skipped them would sync part of the app and call it Synced; and a path that renders
no objects while it holds a chart, Jsonnet libraries or a kustomization one level down
is almost always a path pointing at the wrong renderer. Both are `SourceNotSupported`
errors that name the files and say what to do, until issue 14 brings Helm and Jsonnet.
Called by `reconcile.render`.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.reconcile.errors import SourceNotSupported
from conveyor.reconcile.render_directory import matches
from conveyor.reconcile.render_kustomize import KUSTOMIZATION_FILES

#: Names (globs) a renderer other than plain YAML reads, and which renderer that is.
FOREIGN = {
    "*.jsonnet": "Jsonnet",
    "*.libsonnet": "Jsonnet",
    "Chart.yaml": "Helm",
    **dict.fromkeys(KUSTOMIZATION_FILES, "Kustomize"),
}
_SHOWN = 5


def jsonnet_files(directory: Path, *, recurse: bool, include: str, exclude: str) -> list[Path]:
    """The `*.jsonnet` files Argo CD's directory source would evaluate (same selection)."""
    candidates = directory.rglob("*.jsonnet") if recurse else directory.glob("*.jsonnet")
    chosen = []
    for path in candidates:
        rel = path.relative_to(directory).as_posix()
        if include and not matches(rel, include):
            continue
        if exclude and matches(rel, exclude):
            continue
        chosen.append(path)
    return sorted(chosen)


def foreign_files(directory: Path) -> list[Path]:
    """Files anywhere under `directory` that Helm, Jsonnet or Kustomize would read."""
    found = {p for pattern in FOREIGN for p in directory.rglob(pattern) if p.is_file()}
    return sorted(found)


def check(
    directory: Path,
    *,
    rendered: int,
    recurse: bool,
    include: str,
    exclude: str,
    display_root: Path,
) -> None:
    """SourceNotSupported when the directory render left out files another renderer reads."""
    jsonnet = jsonnet_files(directory, recurse=recurse, include=include, exclude=exclude)
    if jsonnet:
        raise SourceNotSupported(
            f"Jsonnet is not rendered yet (issue 14): {_names(jsonnet, display_root)}",
            hint="render them to YAML (jsonnet -y) and commit the output, "
            "or leave them out with spec.source.directory.exclude",
        )
    if rendered:
        return
    foreign = foreign_files(directory)
    if foreign:
        kinds = sorted({_kind(p) for p in foreign})
        raise SourceNotSupported(
            f"{_shown(directory, display_root)} renders no objects, but holds files for "
            f"{' and '.join(kinds)}: {_names(foreign, display_root)}",
            hint="point spec.source.path at the kustomization or the plain manifests; "
            "Helm charts and Jsonnet are not rendered yet (issue 14)",
        )


def _kind(path: Path) -> str:
    return next(kind for pattern, kind in FOREIGN.items() if path.match(pattern))


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _names(paths: list[Path], root: Path) -> str:
    names = ", ".join(_shown(p, root) for p in paths[:_SHOWN])
    more = len(paths) - _SHOWN
    return f"{names} and {more} more" if more > 0 else names
