"""Render a directory of YAML/JSON manifests and Jsonnet files (Argo CD's `directory`
source type).

`recurse` descends into subdirectories; `include` / `exclude` are glob patterns matched
against the path relative to the app's directory, with `{a,b}` alternatives as Argo CD
allows (`include: '{deploy.yaml,svc.yaml}'`). The same selection picks the `*.jsonnet`
files, which `render_jsonnet` evaluates (all of a directory's in one evaluator process);
objects come out in file order, YAML and Jsonnet together. Files are read in sorted
order so the digest of a render is stable. Called by `reconcile.render`.

Files Argo CD skips are skipped (`manifests.file_manifests`; a Jsonnet file with the
marker is not evaluated).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from pathlib import Path

from conveyor.reconcile import render_foreign, render_jsonnet
from conveyor.reconcile.appmodel import DirectorySpec
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.manifests import SKIP_MARKER, file_manifests
from conveyor.targets.base import Manifest

SUFFIXES = (".yaml", ".yml", ".json")
JSONNET = ".jsonnet"


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


def select_files(
    directory: Path,
    *,
    recurse: bool,
    include: str,
    exclude: str,
    suffixes: tuple[str, ...] = SUFFIXES,
) -> list[Path]:
    if not directory.is_dir():
        raise RenderError(
            f"source path {directory.name!r} is not a directory", hint="check spec.source.path"
        )
    candidates = directory.rglob("*") if recurse else directory.iterdir()
    files = []
    for path in candidates:
        rel = path.relative_to(directory).as_posix()
        if not path.is_file() or path.suffix not in suffixes:
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
        out.extend(file_manifests(file.read_text(), str(shown)))
    return out


async def render_tree(
    directory: Path,
    *,
    spec: DirectorySpec,
    root: Path,
    env: Mapping[str, str],
    limits: render_jsonnet.Limits,
) -> list[Manifest]:
    """Every selected YAML, JSON and Jsonnet file's objects, in file order; an empty
    result over a chart or kustomization below is refused (`render_foreign`)."""
    files = select_files(
        directory,
        recurse=spec.recurse,
        include=spec.include,
        exclude=spec.exclude,
        suffixes=(*SUFFIXES, JSONNET),
    )
    skipped = {f for f in files if f.suffix == JSONNET and SKIP_MARKER in f.read_text()}
    jsonnet = [f for f in files if f.suffix == JSONNET and f not in skipped]
    evaluated = {}
    if jsonnet:
        evaluated = await render_jsonnet.evaluate(
            jsonnet, spec=spec.jsonnet, app_dir=directory, root=root, env=env, limits=limits
        )
    out: list[Manifest] = []
    for file in files:
        if file in skipped:
            continue
        if file.suffix == JSONNET:
            out.extend(evaluated[file])
        else:
            out.extend(file_manifests(file.read_text(), str(file.relative_to(root))))
    render_foreign.check(directory, rendered=len(out), evaluated=bool(jsonnet), display_root=root)
    return out
