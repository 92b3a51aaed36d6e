"""The values a Helm source renders with, composed as Argo CD hands them to `helm template`.

Lowest to highest: the chart's own `values.yaml` (Helm coalesces it at render), then
`helm.valueFiles` in order (each path relative to the chart's directory, `/x` relative to
the repository root, `$ref/x` relative to the root of the source whose `ref` is `ref`;
glob patterns expand in lexical order), then `helm.valuesObject` or, when that is unset,
`helm.values` (Argo CD passes one of them, as one more values file), then
`helm.parameters` (`--set`, `forceString` ones as `--set-string`, which Helm applies after
every `--set`), then `helm.fileParameters` (`--set-file`). Values files merge as Helm's
`mergeMaps` does (maps deep, anything else replaced); a `--set` merges its parsed tree the
same way, except that a list it indexes (`name[1]=x`) is updated element by element, as
Helm's `strvals.ParseInto` does.

A value file or `--set-file` path must stay inside its repository (symlinks followed):
`../../etc/passwd` is refused. Remote (`https://…`) value files are refused: Conveyor
renders from Git and chart repositories only. Called by `reconcile.render_helm`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.clients.helm import HelmError, parse_set, parse_set_file, values_from_yaml
from conveyor.reconcile.appmodel import HelmSpec
from conveyor.reconcile.errors import RenderError

_GLOB = ("*", "?", "[")


@dataclass(frozen=True, slots=True, kw_only=True)
class Places:
    """Where a source's relative paths point: the chart directory, its repository root,
    the roots of the `ref` sources (by ref name), and how to show the chart in messages."""

    chart_dir: Path
    repo_root: Path
    refs: Mapping[str, Path]
    shown: str


def compose(spec: HelmSpec, places: Places) -> dict[str, Any]:
    """The user-supplied values for one render (the chart's defaults are not included)."""
    values: dict[str, Any] = {}
    for name in spec.value_files:
        for file in value_files(name, places, ignore_missing=spec.ignore_missing_value_files):
            merge(values, _read(file, shown=_shown(file, name, places)))
    if spec.values_object:
        merge(values, spec.values_object_data())
    elif spec.values.strip():
        merge(values, _parse_yaml(spec.values, shown="spec.source.helm.values"))
    plain = {p.name: p.value for p in spec.parameters if not p.force_string}
    strings = {p.name: p.value for p in spec.parameters if p.force_string}
    for group, as_string in ((plain, False), (strings, True)):
        for name, value in group.items():
            parsed = _set(f"{name}={escape_commas(value)}", as_string=as_string)
            merge(values, parsed, by_index="[" in name)
    for param in spec.file_parameters:
        file = _resolve(param.path, places, what="helm.fileParameters path")
        if not file.is_file():
            raise RenderError(
                f"{places.shown}: helm.fileParameters {param.name}: {param.path} does not exist",
                hint="fix the path (relative to the chart directory)",
            )
        merge(values, _set_file(f"{param.name}={file}"), by_index="[" in param.name)
    return values


def escape_commas(value: str) -> str:
    """A parameter value as one `--set` value: commas escaped unless already escaped, and a
    `{a,b}` list left as it is (Argo CD's `cleanSetParameters`)."""
    if value.startswith("{") and value.endswith("}"):
        return value
    out, previous = [], ""
    for char in value:
        out.append("\\," if char == "," and previous != "\\" else char)
        previous = char
    return "".join(out)


def merge(base: dict[str, Any], extra: Mapping[str, Any], *, by_index: bool = False) -> None:
    """Merge `extra` into `base` in place (Helm's `mergeMaps`; lists by index if asked)."""
    for key, value in extra.items():
        current = base.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            merge(current, value, by_index=by_index)
        elif by_index and isinstance(value, list) and isinstance(current, list):
            base[key] = _merge_list(current, value)
        else:
            base[key] = value


def _merge_list(current: list[Any], extra: list[Any]) -> list[Any]:
    out = list(current) + [None] * max(0, len(extra) - len(current))
    for index, item in enumerate(extra):
        if item is None:
            continue
        if isinstance(item, Mapping) and isinstance(out[index], dict):
            merge(out[index], item, by_index=True)
        else:
            out[index] = item
    return out


def value_files(name: str, places: Places, *, ignore_missing: bool) -> list[Path]:
    """The files one `valueFiles` entry names (a glob may name several, lexically)."""
    if "://" in name:
        raise RenderError(
            f"{places.shown}: remote value file {name!r} is not supported",
            hint="commit the file to Git and name it by path, or to another source with ref:",
        )
    if any(c in name for c in _GLOB):
        pattern, root = _place(name, places, what="value file")
        if not pattern.is_relative_to(root):
            _inside(pattern, root, name, places, "value file")  # raises
        matches = sorted(root.glob(str(pattern.relative_to(root))))
        found = [_inside(p, root, name, places, "value file") for p in matches if p.is_file()]
        if not found and not ignore_missing:
            raise RenderError(
                f"{places.shown}: values file glob {name!r} matched no files",
                hint="add the files, fix the pattern, or set helm.ignoreMissingValueFiles",
            )
        return found
    file = _resolve(name, places, what="value file")
    if file.is_file():
        return [file]
    if ignore_missing:
        return []
    raise RenderError(
        f"{places.shown}: value file {name} does not exist",
        hint="fix helm.valueFiles (paths are relative to the chart directory; $ref/… to a "
        "ref source's root) or set helm.ignoreMissingValueFiles: true",
    )


def _resolve(name: str, places: Places, *, what: str) -> Path:
    """`name` as a path inside its repository; refused when it leaves that repository."""
    candidate, root = _place(name, places, what=what)
    return _inside(candidate, root, name, places, what)


def _place(name: str, places: Places, *, what: str) -> tuple[Path, Path]:
    """(the path `name` names, the root of the repository it must stay in)."""
    if name.startswith("$"):
        ref, _, rest = name[1:].partition("/")
        if ref not in places.refs:
            raise RenderError(
                f"{places.shown}: {what} {name!r} names no source's ref",
                hint="add `ref: NAME` to the source that holds the file",
            )
        root = base = places.refs[ref]
    else:
        root, rest = places.repo_root, name
        base = root if name.startswith("/") else places.chart_dir
    return Path(os.path.normpath(base / rest.lstrip("/"))), root


def _inside(candidate: Path, root: Path, name: str, places: Places, what: str) -> Path:
    inside = candidate.is_relative_to(root)
    if inside and candidate.exists():  # symlinks are followed before the check
        inside = candidate.resolve().is_relative_to(root.resolve())
    if not inside:
        raise RenderError(
            f"{places.shown}: {what} {name!r} leaves its repository",
            hint="paths must stay inside the chart's repository, or a ref source's",
        )
    return candidate


def _shown(file: Path, name: str, places: Places) -> str:
    return name if name.startswith("$") else str(file.relative_to(places.repo_root))


def _read(file: Path, *, shown: str) -> dict[str, Any]:
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"cannot read value file {shown}: {exc}") from exc
    return _parse_yaml(text, shown=shown)


def _parse_yaml(text: str, *, shown: str) -> dict[str, Any]:
    try:
        return values_from_yaml(text)
    except HelmError as exc:
        raise RenderError(f"{shown}: {exc}", hint="fix the YAML") from exc


def _set(expression: str, *, as_string: bool) -> dict[str, Any]:
    try:
        return parse_set(expression, as_string=as_string)
    except HelmError as exc:
        raise RenderError(
            f"helm.parameters {expression.split('=', 1)[0]!r}: {exc}",
            hint="write names as Helm's --set does: a.b[0].c",
        ) from exc


def _set_file(expression: str) -> dict[str, Any]:
    try:
        return parse_set_file(expression)
    except HelmError as exc:
        raise RenderError(f"helm.fileParameters {expression.split('=', 1)[0]!r}: {exc}") from exc
