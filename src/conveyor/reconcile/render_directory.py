"""Render a directory of YAML/JSON manifests (Argo CD's `directory` source type).

`recurse` descends into subdirectories; `include` / `exclude` are glob patterns matched
against the path relative to the app's directory, with `{a,b}` alternatives as Argo CD
allows (`include: '{deploy.yaml,svc.yaml}'`). Files are read in sorted order so the
digest of a render is stable. Called by `reconcile.render`.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.manifests import parse_manifests
from conveyor.targets.base import Manifest

SUFFIXES = (".yaml", ".yml", ".json")


def expand_braces(pattern: str) -> list[str]:
    """`{a,b}.yaml` → [`a.yaml`, `b.yaml`]; nested braces expand too."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [p for alt in match.group(1).split(",") for p in expand_braces(head + alt + tail)]


def matches(rel: str, pattern: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(rel, p) or ("/" not in p and fnmatch.fnmatchcase(name, p))
        for p in expand_braces(pattern)
    )


def select_files(directory: Path, *, recurse: bool, include: str, exclude: str) -> list[Path]:
    if not directory.is_dir():
        raise RenderError(
            f"source path {directory.name!r} is not a directory", hint="check spec.source.path"
        )
    candidates = directory.rglob("*") if recurse else directory.iterdir()
    files = []
    for path in candidates:
        rel = path.relative_to(directory).as_posix()
        if not path.is_file() or path.suffix not in SUFFIXES:
            continue
        if include and not matches(rel, include):
            continue
        if exclude and matches(rel, exclude):
            continue
        files.append(path)
    return sorted(files)


def render_directory(
    directory: Path, *, recurse: bool, include: str, exclude: str, display_root: Path | None = None
) -> list[Manifest]:
    out: list[Manifest] = []
    for file in select_files(directory, recurse=recurse, include=include, exclude=exclude):
        shown = file.relative_to(display_root) if display_root else file
        out.extend(parse_manifests(file.read_text(), str(shown)))
    return out
