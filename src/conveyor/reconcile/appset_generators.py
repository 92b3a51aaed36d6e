"""ApplicationSet generators: parameter sets from a list, a Git repository or a matrix,
and the Applications the template makes of them (issue 14; Argo CD's
applicationset/Generators-List, -Git and -Matrix semantics).

* `list`: each element is a parameter set (with `goTemplate: false` its values must be
  scalars, and a `values` mapping becomes `values.<key>`);
* `git` directories: every directory of the repository at `revision` (hidden ones
  skipped) matching a `path` pattern (`*` stays within one directory) and no `exclude:
  true` pattern; parameters `path`, `path.basename`, `path.basenameNormalized`,
  `path[n]` (Go templates: `.path.path`, `.path.basename`, `.path.segments`, …);
* `git` files: every JSON/YAML file matching a pattern (`**` crosses directories); a
  mapping (or each mapping of a list) gives its keys as parameters (flattened with dots
  unless `goTemplate`), plus `path` (the file's directory), `path.filename`, …;
* `matrix`: every combination of its two generators' sets; the second generator's fields
  are rendered with each set of the first, so it can say `path: '{{path}}/*'`.

Each set renders the template (`appset_template`) into an Application document, read as
strictly as a file's (`applications.parse_document`, errors pointing into the
ApplicationSet's template). Generated apps carry the resources finalizer unless
`preserveResourcesOnDeletion` (Argo CD's rule), so an app the set stops generating is
removed with its objects. Called by `appfiles` and `children`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from conveyor.reconcile import appset_template as tpl
from conveyor.reconcile.applications import parse_document
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.appsets import (
    APPSET_API_VERSION,
    PRESERVE_FINALIZER,
    ApplicationSet,
    Generator,
    GeneratorKind,
)
from conveyor.reconcile.errors import ApplicationInvalid, SourceError
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.yamlnodes import Path_

Params = dict[str, Any]


async def generate(appset: ApplicationSet, sources: Sources) -> list[Application]:
    """The Applications `appset` makes now (its git generators read at their revision)."""
    return [app for _, app in await documents(appset, sources)]


async def documents(
    appset: ApplicationSet, sources: Sources
) -> list[tuple[dict[str, Any], Application]]:
    """Each generated Application with the document it was read from."""
    sets: list[Params] = []
    fetched: set[str] = set()  # a git generator under a matrix runs once per set
    for generator in appset.generators:
        sets.extend(await _params(appset, generator, (sources, fetched), context=None))
    made = [_application(appset, params) for params in sets]
    apps = [app for _, app in made]
    seen: dict[str, int] = {}
    for index, app in enumerate(apps):
        if app.name in seen:
            raise ApplicationInvalid(
                f"ApplicationSet {appset.name} generates application {app.name!r} twice "
                f"(parameter sets {seen[app.name] + 1} and {index + 1})",
                location=appset.document().where("spec", "template", "metadata", "name"),
                hint="make the name template use a parameter that differs, e.g. {{path.basename}}",
            )
        seen[app.name] = index
    return made


Git = tuple[Sources, set[str]]  # the Git cache, and the URLs fetched for this generation


async def _params(
    appset: ApplicationSet, generator: Generator, git: Git, *, context: Params | None
) -> list[Params]:
    spec = generator.data()
    if context is not None:
        spec = _rendered(appset, spec, context, generator.at)
    if generator.kind == GeneratorKind.LIST:
        return [
            _element(appset, item, (*generator.at, "elements", i))
            for i, item in enumerate(spec.get("elements") or [])
        ]
    if generator.kind == GeneratorKind.GIT:
        return await _git(appset, spec, generator.at, git)
    first, second = generator.children
    out = []
    for left in await _params(appset, first, git, context=None):
        for right in await _params(appset, second, git, context=left):
            out.append(_merge(appset, left, right, generator.at))
    return out


def _element(appset: ApplicationSet, item: Mapping[str, Any], at: Path_) -> Params:
    if appset.go_template:
        return dict(item)
    params: Params = {}
    for key, value in item.items():
        if key == "values" and isinstance(value, Mapping):
            params.update({f"values.{k}": tpl.scalar_text(v) for k, v in value.items()})
        elif isinstance(value, Mapping | list):
            raise ApplicationInvalid(
                f"list element key {key!r} holds a {type(value).__name__}",
                location=appset.document().where(*at, key),
                hint="without goTemplate, element values are strings; set goTemplate: true "
                "to use nested values as {{ .key.field }}",
            )
        else:
            params[str(key)] = tpl.scalar_text(value)
    return params


async def _git(appset: ApplicationSet, spec: Params, at: Path_, git: Git) -> list[Params]:
    url, revision = str(spec["repoURL"]), str(spec.get("revision") or "HEAD")
    sources, fetched = git
    try:
        if url not in fetched:
            await sources.fetch(url)
            fetched.add(url)
        sha = await sources.resolve(url, revision)
        root = (await sources.checkout(url, sha, ".", whole=True)).root
    except SourceError as exc:  # transient: the caller keeps the apps it generated last
        where = appset.document().where(*at, "repoURL")
        raise SourceError(f"{where}: ApplicationSet {appset.name}: git generator: {exc}") from exc
    prefix = str(spec.get("pathParamPrefix") or "")
    if spec.get("directories"):
        found = _select(_directories(root), spec["directories"], doublestar=False)
        sets = [_path_params(appset, d, None, prefix) for d in found]
    else:
        files = _select(_files(root), spec["files"], doublestar=True)
        sets = [
            {**data, **_path_params(appset, str(Path(f).parent), Path(f).name, prefix)}
            for f in files
            for data in _file_params(appset, root / f, f, at)
        ]
    values = spec.get("values") or {}
    return [_with_values(appset, params, values, at) for params in sets]


def _directories(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() and not any(part.startswith(".") for part in relative.parts):
            out.append(relative.as_posix())
    return out


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )


def _select(paths: list[str], rules: list[dict[str, Any]], *, doublestar: bool) -> list[str]:
    """Paths matching an include rule and no `exclude: true` rule (exclusion wins)."""
    include = [glob(str(r["path"]), doublestar) for r in rules if not r.get("exclude")]
    exclude = [glob(str(r["path"]), doublestar) for r in rules if r.get("exclude")]
    return [
        p
        for p in paths
        if any(g.fullmatch(p) for g in include) and not any(g.fullmatch(p) for g in exclude)
    ]


def glob(pattern: str, doublestar: bool) -> re.Pattern[str]:
    """Go's `path.Match` (`*` and `?` stay within a directory, `[…]` classes); with
    `doublestar`, `**` matches any number of directories."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if doublestar and pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
            continue
        if doublestar and pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(char)
            else:
                body = pattern[i + 1 : end]
                out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
                i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out)


def _path_params(
    appset: ApplicationSet, directory: str, filename: str | None, prefix: str
) -> Params:
    base = Path(directory).name if directory not in ("", ".") else "."
    fields: Params = {
        "path": directory,
        "basename": base,
        "basenameNormalized": tpl.normalize(base),
    }
    if filename is not None:
        fields |= {"filename": filename, "filenameNormalized": tpl.normalize(filename)}
    if appset.go_template:
        fields["segments"] = directory.split("/")
        return {prefix: {"path": fields}} if prefix else {"path": fields}
    name = f"{prefix}.path" if prefix else "path"
    flat = {(name if key == "path" else f"{name}.{key}"): value for key, value in fields.items()}
    for index, segment in enumerate(directory.split("/")):
        if segment:
            flat[f"{name}[{index}]"] = segment
    return flat


def _file_params(appset: ApplicationSet, file: Path, shown: str, at: Path_) -> list[Params]:
    try:
        data = yaml.safe_load(file.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ApplicationInvalid(
            f"git files generator: {shown} is not JSON or YAML: {exc}",
            location=appset.document().where(*at, "files"),
            hint="narrow the files pattern, or fix the file",
        ) from exc
    items = data if isinstance(data, list) else [data or {}]
    if not all(isinstance(item, dict) for item in items):
        raise ApplicationInvalid(
            f"git files generator: {shown} holds neither a mapping nor a list of mappings",
            location=appset.document().where(*at, "files"),
            hint="each file gives one parameter set (a mapping) or several (a list of them)",
        )
    return [dict(item) if appset.go_template else _flatten(item, "") for item in items]


def _flatten(value: Any, prefix: str) -> Params:
    if isinstance(value, dict | list):
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        out: Params = {}
        for key, item in pairs:
            out |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: tpl.scalar_text(value)}


def _with_values(
    appset: ApplicationSet, params: Params, values: Mapping[str, Any], at: Path_
) -> Params:
    if not values:
        return params
    rendered = {k: _rendered(appset, str(v), params, (*at, "values", k)) for k, v in values.items()}
    if appset.go_template:
        return {**params, "values": rendered}
    return {**params, **{f"values.{k}": v for k, v in rendered.items()}}


def _merge(appset: ApplicationSet, left: Params, right: Params, at: Path_) -> Params:
    for key in left.keys() & right.keys():
        if left[key] != right[key]:
            raise ApplicationInvalid(
                f"matrix: both generators set parameter {key!r}, to different values",
                location=appset.document().where(*at),
                hint="give one git generator a pathParamPrefix",
            )
    return {**left, **right}


def _rendered(appset: ApplicationSet, value: Any, params: Params, at: Path_) -> Any:
    try:
        return tpl.render(value, params, go=appset.go_template)
    except tpl.TemplateError as exc:
        raise ApplicationInvalid(
            f"ApplicationSet {appset.name}: {exc.message}",
            location=appset.document().where(*at, *exc.at),
            hint=exc.hint,
        ) from exc


def _application(appset: ApplicationSet, params: Params) -> tuple[dict[str, Any], Application]:
    at = ("spec", "template")
    data = _rendered(appset, appset.template_data(), params, at)
    meta = dict(data.get("metadata") or {})
    finalizers = [f for f in meta.get("finalizers") or [] if f != PRESERVE_FINALIZER]
    if not appset.preserve_resources:
        finalizers.append(PRESERVE_FINALIZER)
    meta["finalizers"] = finalizers
    document = {
        "apiVersion": APPSET_API_VERSION,
        "kind": "Application",
        "metadata": meta,
        "spec": data.get("spec") or {},
    }
    marks = {path[2:]: mark for path, mark in appset.marks if path[:2] == at}
    return document, parse_document(document, appset.file, marks=marks)
