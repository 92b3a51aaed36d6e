"""An empty directory render over files another renderer reads is refused, not synced.

A path that renders no objects while it holds a chart, Jsonnet or a kustomization one
level down (or Jsonnet/YAML in subdirectories without `directory.recurse`) is almost
always a path pointing at the wrong place: syncing it would prune the app to nothing and
call it Synced. It is a `SourceNotSupported` error that names the files and says what to
do. (Jsonnet beside the YAML is evaluated: `render_jsonnet`.) Called by `reconcile.render`.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.reconcile.errors import SourceNotSupported
from conveyor.reconcile.render_kustomize import KUSTOMIZATION_FILES

#: Names (globs) a renderer other than plain YAML reads, and which renderer that is.
FOREIGN = {
    "*.jsonnet": "Jsonnet",
    "*.libsonnet": "Jsonnet",
    "Chart.yaml": "Helm",
    **dict.fromkeys(KUSTOMIZATION_FILES, "Kustomize"),
}
_SHOWN = 5


def foreign_files(directory: Path) -> list[Path]:
    """Files anywhere under `directory` that Helm, Jsonnet or Kustomize would read."""
    found = {p for pattern in FOREIGN for p in directory.rglob(pattern) if p.is_file()}
    return sorted(found)


def check(directory: Path, *, rendered: int, evaluated: bool, display_root: Path) -> None:
    """SourceNotSupported when the render is empty but the path holds renderer inputs;
    `evaluated` (Jsonnet files were evaluated, to nothing) leaves Jsonnet files out."""
    if rendered:
        return
    foreign = [p for p in foreign_files(directory) if not (evaluated and _kind(p) == "Jsonnet")]
    if foreign:
        kinds = sorted({_kind(p) for p in foreign})
        raise SourceNotSupported(
            f"{_shown(directory, display_root)} renders no objects, but holds files for "
            f"{' and '.join(kinds)}: {_names(foreign, display_root)}",
            hint="point spec.source.path at the kustomization, the chart or the manifests "
            "themselves, or set spec.source.directory.recurse",
        )


def _kind(path: Path) -> str:
    return next(kind for pattern, kind in FOREIGN.items() if path.match(pattern))


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() or "."


def _names(paths: list[Path], root: Path) -> str:
    names = ", ".join(_shown(p, root) for p in paths[:_SHOWN])
    more = len(paths) - _SHOWN
    return f"{names} and {more} more" if more > 0 else names
