"""The apps directory, read whole: Applications (`applications`), ApplicationSets
expanded into the Applications they generate now (`appsets`, `appset_generators`), and
a clear error for any other kind, so that nothing there is silently skipped (issue 14).

Flux documents (`*.toolkit.fluxcd.io`) are left to their own reader. `load` runs on
every full pass of the loop (its `reload`), so an ApplicationSet is re-evaluated when Git
changes, and an app it no longer generates leaves the reconciler the way an app whose
file was deleted does. Called by `conveyor reconcile` / `conveyor app` (app/cmd_reconcile).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from conveyor.reconcile import flux
from conveyor.reconcile.applications import Catalog, InvalidApp, load_catalog, shown_as
from conveyor.reconcile.appset_generators import generate
from conveyor.reconcile.appsets import ApplicationSet, parse_appset
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.yamlnodes import Document, error_location, load_documents

SUFFIXES = (".yaml", ".yml", ".json")
APP_KINDS = frozenset({"Application", "ApplicationSet"})
HINT = (
    "the apps directory holds Application and ApplicationSet documents only: move "
    "manifests into an application's source path"
)
HINTS = {
    "AppProject": "Conveyor does not read AppProjects (spec.project is documented in the "
    "README): move it out of the apps directory",
}


async def load(paths: Iterable[Path], *, sources: Sources, root: Path | None = None) -> Catalog:
    """Every Application of the files, then every one their ApplicationSets generate; a
    document that is not valid is reported (`InvalidApp`) without hiding the others."""
    paths = list(paths)
    catalog = load_catalog(paths, root=root)
    apps, invalid = list(catalog.apps), list(catalog.invalid)
    owners = {app.name: app.file for app in apps}
    appsets, bad = load_appsets(paths, root=root)
    invalid.extend(bad)
    for appset in appsets:
        try:
            generated = await generate(appset, sources)
        except ApplicationInvalid as exc:  # its apps stay as they were (hides_file)
            invalid.append(_appset_error(appset, exc))
            continue
        for app in generated:
            if app.name in owners:
                error = ApplicationInvalid(
                    f"ApplicationSet {appset.name} generates application {app.name!r}, "
                    f"which {owners[app.name]} defines too",
                    location=appset.document().where("spec", "template", "metadata", "name"),
                    hint="application names must be unique: rename one",
                )
                invalid.append(_appset_error(appset, error))
                continue
            owners[app.name] = f"ApplicationSet {appset.name}"
            apps.append(app)
    return Catalog(apps=tuple(apps), invalid=tuple(invalid))


def _appset_error(appset: ApplicationSet, error: ApplicationInvalid) -> InvalidApp:
    """An ApplicationSet's error, reported under `applicationset/<name>`."""
    name = f"applicationset/{appset.name}"
    return InvalidApp(name=name, file=appset.file, error=error, hides_file=True)


def load_appsets(
    paths: Iterable[Path], *, root: Path | None = None
) -> tuple[list[ApplicationSet], list[InvalidApp]]:
    """The ApplicationSets of the files, and the documents that are none of Application,
    ApplicationSet or Flux object, or are an ApplicationSet that cannot be read (each an
    error naming its file and line)."""
    found: list[ApplicationSet] = []
    invalid: list[InvalidApp] = []
    for file in _files(paths):
        try:
            docs = _documents(file, shown_as(file, root))
        except ApplicationInvalid:
            continue  # `load_catalog` reports a file that is not YAML
        for doc in docs:
            kind = doc.data.get("kind") if isinstance(doc.data, dict) else None
            try:
                if kind == "ApplicationSet":
                    found.append(parse_appset(doc))
                elif kind not in APP_KINDS and not flux.is_flux(doc):
                    raise ApplicationInvalid(
                        f"kind {kind or '(none)'} is not an Application or ApplicationSet",
                        location=doc.where("kind") if kind else doc.where(),
                        hint=HINTS.get(str(kind), HINT),
                    )
            except ApplicationInvalid as exc:
                invalid.append(_document_error(doc, kind, exc))
    return found, invalid


def _document_error(doc: Document, kind: object, error: ApplicationInvalid) -> InvalidApp:
    meta = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    label = f"{str(kind or 'document').lower()}/{name}" if name else doc.file
    return InvalidApp(name=label, file=doc.file, error=error, hides_file=kind == "ApplicationSet")


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES))
        else:
            out.append(path)
    return out


def _documents(file: Path, shown: str) -> list[Document]:
    try:
        return list(load_documents(file.read_text(), shown))
    except yaml.YAMLError as exc:
        raise ApplicationInvalid(
            f"invalid YAML: {exc}",
            location=error_location(exc, shown),
            hint="fix the YAML syntax",
        ) from exc
