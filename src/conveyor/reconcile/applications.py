"""The apps directory, read into a `Catalog` (issue 14): every Application (one document
at a time, `appspec`), every Flux Kustomization mapped onto the same model (`flux`), and
an `InvalidApp` for each document that cannot be read, so one bad file neither stops the
others nor makes its own apps look removed. `parse_applications` / `load_applications`
raise at the first invalid document, for commands and tests that act on known-good files.
Called by `appfiles` (the reconciler's reload), `conveyor app` and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conveyor.core.location import Location
from conveyor.reconcile import flux
from conveyor.reconcile.appmodel import Application, SyncPolicy
from conveyor.reconcile.appspec import NAME, application
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.yamlnodes import Document, error_location, load_documents


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidApp:
    """An Application document that could not be read: reported with the InvalidSpec
    condition under its name (the file's path when it has none), never synced, and its
    objects are left as they are (Argo CD's InvalidSpecError)."""

    name: str
    file: str
    error: ApplicationInvalid
    # The error hides which apps the file defines (not YAML; an ApplicationSet that could
    # not generate): its apps are kept as they were, never taken for removed.
    hides_file: bool = False

    @property
    def message(self) -> str:
        return str(self.error)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """What the apps directory holds: the apps, and the documents that are not valid."""

    apps: tuple[Application, ...] = ()
    invalid: tuple[InvalidApp, ...] = ()


def placeholder(bad: InvalidApp) -> Application:
    """The app an invalid document stands for when no valid definition was seen before:
    no sources, so nothing is fetched; only its name, file and stored state are real."""
    return Application(
        name=bad.name, sources=(), target="", namespace="", sync_policy=SyncPolicy(), file=bad.file
    )


def load_applications(paths: Iterable[Path]) -> list[Application]:
    """Every Application in the given files and directories; the first invalid one raises
    (for commands that act on one app; the reconciler reads a `Catalog`)."""
    catalog = load_catalog(paths)
    if catalog.invalid:
        raise catalog.invalid[0].error
    return list(catalog.apps)


def shown_as(file: Path, root: Path | None) -> str:
    """The name a file of the apps directory goes by in messages and in `Application.file`:
    relative to `root` (a Git checkout, whose directory changes with every commit) so it
    stays the same from one commit to the next, else as given."""
    if root is not None and file.is_relative_to(root):
        return file.relative_to(root).as_posix()
    return str(file)


def load_catalog(paths: Iterable[Path], *, root: Path | None = None) -> Catalog:
    """Every Application in the given files and directories (`*.yaml`, `*.yml`, `*.json`),
    and every Flux Kustomization read onto the same model (`reconcile.flux`); a document
    that is not valid becomes an `InvalidApp` and does not stop the others."""
    apps: list[Application] = []
    invalid: list[InvalidApp] = []
    fluxes: list[Document] = []
    for path in paths:
        files = (
            sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
            if path.is_dir()
            else [path]
        )
        for file in files:
            found, flux_docs = _read(file.read_text(), shown_as(file, root))
            apps.extend(found.apps)
            invalid.extend(found.invalid)
            fluxes.extend(flux_docs)
    flux_apps = _flux(fluxes)
    return _unique([*apps, *flux_apps.apps], [*invalid, *flux_apps.invalid])


def parse_applications(text: str, file: str) -> list[Application]:
    """The Applications of one file (Flux documents included); raises at the first
    invalid document."""
    found = read_file(text, file)
    if found.invalid:
        raise found.invalid[0].error
    return list(found.apps)


def read_file(text: str, file: str) -> Catalog:
    """The Application documents of one file, read one by one (Flux ones resolved within
    the file)."""
    found, fluxes = _read(text, file)
    flux_apps = _flux(fluxes)
    return Catalog(
        apps=(*found.apps, *flux_apps.apps), invalid=(*found.invalid, *flux_apps.invalid)
    )


def _read(text: str, file: str) -> tuple[Catalog, list[Document]]:
    try:
        docs = list(load_documents(text, file))
    except yaml.YAMLError as exc:
        error = ApplicationInvalid(
            f"invalid YAML: {exc}", location=error_location(exc, file), hint="fix the YAML syntax"
        )
        bad = InvalidApp(name=file, file=file, error=error, hides_file=True)
        return Catalog(invalid=(bad,)), []
    apps: list[Application] = []
    invalid: list[InvalidApp] = []
    fluxes: list[Document] = []
    for doc in docs:
        if not isinstance(doc.data, dict):
            continue
        if flux.is_flux(doc):
            fluxes.append(doc)
            continue
        if doc.data.get("kind") != "Application":
            continue
        try:
            apps.append(application(doc))
        except ApplicationInvalid as exc:
            invalid.append(_invalid(doc, exc))
    return Catalog(apps=tuple(apps), invalid=tuple(invalid)), fluxes


def parse_document(
    data: dict[str, Any],
    file: str,
    *,
    marks: dict[tuple[str | int, ...], tuple[int, int]] | None = None,
) -> Application:
    """One already-loaded Application document, read as strictly as a file's: an app
    rendered by another app (`children`, `file` like `parent: path`) or one an
    ApplicationSet's template produced (`appsets`, with the template's positions)."""
    return application(Document(data=data, file=file, marks=dict(marks or {})))


def _flux(docs: list[Document]) -> Catalog:
    """Flux Kustomizations resolved against the GitRepositories beside them."""
    if not docs:
        return Catalog()
    found = flux.gather(docs)
    invalid = [_invalid(doc, flux.refusal(doc)) for doc in found.refused]
    try:
        repos = flux.repositories(found.repositories)
    except ApplicationInvalid as exc:
        # a repository that cannot be read takes down the Kustomizations that use it
        bad = [_invalid(doc, exc) for doc in found.kustomizations]
        return Catalog(invalid=(*invalid, *bad))
    apps = []
    for doc in found.kustomizations:
        try:
            apps.append(flux.application(doc, repos))
        except ApplicationInvalid as exc:
            invalid.append(_invalid(doc, exc))
    return Catalog(apps=tuple(apps), invalid=tuple(invalid))


def _invalid(doc: Document, error: ApplicationInvalid) -> InvalidApp:
    return InvalidApp(name=_name_of(doc) or doc.file, file=doc.file, error=error)


def _name_of(doc: Document) -> str:
    meta = doc.data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and NAME.fullmatch(name) else ""


def _unique(apps: list[Application], invalid: list[InvalidApp]) -> Catalog:
    """A name defined twice, or valid in one document and invalid in another, is invalid:
    with its definition in doubt nothing is synced for it until the files agree."""
    seen: dict[str, str] = {}
    kept: list[Application] = []
    for app in apps:
        if app.name in seen:
            error = ApplicationInvalid(
                f"application {app.name!r} is defined twice ({seen[app.name]} and {app.file})",
                location=Location(file=app.file),
                hint="application names must be unique",
            )
            invalid.append(InvalidApp(name=app.name, file=app.file, error=error))
            continue
        seen[app.name] = app.file
        kept.append(app)
    named = {i.name for i in invalid}
    return Catalog(
        apps=tuple(a for a in kept if a.name not in named),
        invalid=tuple(invalid),
    )
