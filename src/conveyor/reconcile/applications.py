"""Application documents: Argo CD's Application schema, read as people who know Argo CD
expect, under `apiVersion: conveyor.dev/v1alpha1` (and `argoproj.io/v1alpha1` as is).

Fields understood (issue 6): `metadata.name`; `spec.source.{repoURL, path, targetRevision,
directory.{recurse, include, exclude}, kustomize.{images, namePrefix}, helm, chart,
plugin}` (`helm`, `chart` and `plugin` are reported as not rendered yet, issue 14);
`spec.destination.{name, namespace, server}` (`server: https://kubernetes.default.svc`
means the target `in-cluster`); `spec.syncPolicy.{automated.{prune, selfHeal,
allowEmpty}, syncOptions, retry.{limit, backoff.{duration, factor, maxDuration}}}`;
`spec.ignoreDifferences[].{group, kind, name, namespace, jsonPointers,
jqPathExpressions}`; and Conveyor's `spec.dependsOn: [app names]`.

Errors carry file:line:col and a hint. Called by the reconciler loop and `conveyor app`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conveyor.core.errors import UserError
from conveyor.core.location import Location
from conveyor.reconcile import appschema as schema
from conveyor.reconcile import appsources, flux, syncoptions
from conveyor.reconcile.appmodel import (
    Application,
    ManagedNamespaceMetadata,
    Retry,
    SyncPolicy,
)
from conveyor.reconcile.diff import IgnoreRule
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.paths import remove_jq, remove_pointer
from conveyor.reconcile.yamlnodes import Document, error_location, load_documents

API_VERSIONS = ("conveyor.dev/v1alpha1", "argoproj.io/v1alpha1")
IN_CLUSTER = "https://kubernetes.default.svc"
#: Argo CD's finalizers: delete the app's objects (cascade, optionally with a propagation
#: policy) before the app itself; run PostDelete hooks.
FINALIZERS = (
    "resources-finalizer.argocd.argoproj.io",
    "resources-finalizer.argocd.argoproj.io/background",
    "resources-finalizer.argocd.argoproj.io/foreground",
    "post-delete-finalizer.argocd.argoproj.io",
    "post-delete-finalizer.argocd.argoproj.io/cleanup",  # written by Argo CD's controller
    "pre-delete-finalizer.argocd.argoproj.io",
    "pre-delete-finalizer.argocd.argoproj.io/cleanup",
    "conveyor.dev/delete-resources",
)
#: Annotations under these prefixes are Argo CD's (or Conveyor's) and must be known.
APP_ANNOTATION_PREFIXES = ("argocd.argoproj.io", "conveyor.dev", "notifications.argoproj.io")
SKIP_RECONCILE = "argocd.argoproj.io/skip-reconcile"
COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
APP_ANNOTATIONS = frozenset(
    {
        "argocd.argoproj.io/refresh",  # a refresh request: every pass refreshes anyway
        "argocd.argoproj.io/manifest-generate-paths",  # a cache hint; renders are cached by tree
        "argocd.argoproj.io/skip-reconcile",
        "argocd.argoproj.io/compare-options",  # ServerSideDiff: meaningful on Kubernetes
        "argocd.argoproj.io/sync-wave",  # ordering of apps rendered by an app of apps
    }
)
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str | int | float, *, where: str = "") -> float:
    """`5s`, `3m`, `1h30m`, or a number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ApplicationInvalid(
            f"{where}duration {text!r} is not valid", hint="write e.g. 5s, 3m or 1h30m"
        )
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


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


def load_catalog(paths: Iterable[Path]) -> Catalog:
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
            found, flux_docs = _read(file.read_text(), str(file))
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
            apps.append(_application(doc))
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
    return _application(Document(data=data, file=file, marks=dict(marks or {})))


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
    return name if isinstance(name, str) and _NAME.fullmatch(name) else ""


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


def _application(doc: Document) -> Application:
    data = schema.mapping(doc, doc.data)
    schema.check(doc, {k: v for k, v in data.items() if k != "operation"}, schema.TOP)
    if "operation" in data:
        raise ApplicationInvalid(
            "operation is not read from Git",
            location=doc.where("operation"),
            hint=schema.TOP_REFUSED_OPERATION,
        )
    if data.get("apiVersion") not in API_VERSIONS:
        raise ApplicationInvalid(
            f"unsupported apiVersion {data.get('apiVersion')!r}",
            location=doc.where("apiVersion"),
            hint=f"use {API_VERSIONS[0]}",
        )
    meta = schema.mapping(doc, data.get("metadata"), "metadata")
    schema.check(
        doc,
        {k: v for k, v in meta.items() if k not in schema.METADATA_SERVER_FIELDS},
        schema.METADATA,
        "metadata",
    )
    name = schema.text(doc, meta.get("name"), "metadata", "name")
    if not _NAME.fullmatch(name):
        raise ApplicationInvalid(
            f"metadata.name {name!r} is not a valid name",
            location=doc.where("metadata", "name"),
            hint="lower-case letters, digits, '-' and '.'",
        )
    spec = schema.mapping(doc, data.get("spec"), "spec")
    if not isinstance(data.get("spec"), dict):
        raise ApplicationInvalid(
            "spec must be a mapping", location=doc.where("spec"), hint="add spec.source"
        )
    schema.check(doc, spec, schema.SPEC, "spec")
    dest = schema.mapping(doc, spec.get("destination"), "spec", "destination")
    schema.check(doc, dest, schema.DESTINATION, "spec", "destination")
    found, multi = appsources.sources(doc, spec)
    notes = _annotations(doc, meta)
    return Application(
        name=name,
        sources=found,
        multi_source=multi,
        target=_target(doc, dest),
        namespace=schema.text(doc, dest.get("namespace"), "spec", "destination", "namespace"),
        sync_policy=_sync_policy(doc, spec),
        ignore_differences=tuple(_ignores(doc, spec)),
        depends_on=schema.texts(doc, spec.get("dependsOn"), "spec", "dependsOn"),
        file=doc.file,
        project=schema.text(doc, spec.get("project"), "spec", "project") or "default",
        revision_history_limit=_history_limit(doc, spec),
        finalizers=_finalizers(doc, meta),
        labels=schema.pairs(doc, meta.get("labels"), "metadata", "labels"),
        annotations=notes,
        info=_info(doc, spec),
        suspended=dict(notes).get(SKIP_RECONCILE, "").lower() == "true",
    )


def _target(doc: Document, dest: dict[str, Any]) -> str:
    if dest.get("name") and dest.get("server"):
        raise ApplicationInvalid(
            "destination sets both name and server",
            location=doc.where("spec", "destination", "server"),
            hint="keep one (Argo CD refuses both too)",
        )
    if dest.get("name"):
        return schema.text(doc, dest["name"], "spec", "destination", "name")
    server = schema.text(doc, dest.get("server"), "spec", "destination", "server")
    if server.rstrip("/") == IN_CLUSTER:
        return "in-cluster"
    if server:
        raise ApplicationInvalid(
            f"destination server {server!r} is not a known target",
            location=doc.where("spec", "destination", "server"),
            hint="name a target from conveyor.yaml in destination.name",
        )
    return "local"


def _sync_policy(doc: Document, spec: dict[str, Any]) -> SyncPolicy:
    at = ("spec", "syncPolicy")
    policy = schema.mapping(doc, spec.get("syncPolicy"), *at)
    schema.check(doc, policy, schema.SYNC_POLICY, *at)
    automated = policy.get("automated")
    auto = schema.mapping(doc, automated if isinstance(automated, dict) else None, *at, "automated")
    schema.check(doc, auto, schema.AUTOMATED, *at, "automated")
    retry = schema.mapping(doc, policy.get("retry"), *at, "retry")
    schema.check(doc, retry, schema.RETRY, *at, "retry")
    backoff = schema.mapping(doc, retry.get("backoff"), *at, "retry", "backoff")
    schema.check(doc, backoff, schema.BACKOFF, *at, "retry", "backoff")
    options = schema.texts(doc, policy.get("syncOptions"), *at, "syncOptions")
    for index, item in enumerate(options):
        _sync_option(doc, item, (*at, "syncOptions", index))
    limit = schema.integer(doc, retry.get("limit"), *at, "retry", "limit")
    if limit < -1:
        raise ApplicationInvalid(
            f"retry.limit {limit} is not valid",
            location=doc.where(*at, "retry", "limit"),
            hint="a count of retries, or -1 to retry for ever",
        )
    where = "spec.syncPolicy.retry.backoff: "
    return SyncPolicy(
        automated=automated is not None
        and automated is not False
        and schema.flag(doc, auto.get("enabled", True), *at, "automated", "enabled"),
        prune=schema.flag(doc, auto.get("prune"), *at, "automated", "prune"),
        self_heal=schema.flag(doc, auto.get("selfHeal"), *at, "automated", "selfHeal"),
        allow_empty=schema.flag(doc, auto.get("allowEmpty"), *at, "automated", "allowEmpty"),
        sync_options=options,
        retry=Retry(
            limit=limit,
            duration=parse_duration(backoff.get("duration", "5s"), where=where),
            factor=float(backoff.get("factor", 2)),
            max_duration=parse_duration(backoff.get("maxDuration", "3m"), where=where),
        ),
        managed_namespace_metadata=_namespace_metadata(doc, policy, at),
    )


def _sync_option(doc: Document, item: str, path: tuple[str | int, ...]) -> None:
    _option(doc, item, syncoptions.SYNC_OPTIONS, "sync option", *path)


def _option(
    doc: Document, text: str, table: dict[str, syncoptions.Option], what: str, *path: str | int
) -> None:
    try:
        syncoptions.parse(
            text, scope=syncoptions.Scope.APP, table=table, where=doc.where(*path), what=what
        )
    except UserError as exc:
        raise ApplicationInvalid(exc.message, location=exc.location, hint=exc.hint) from exc


def _namespace_metadata(
    doc: Document, policy: dict[str, Any], at: tuple[str, ...]
) -> ManagedNamespaceMetadata | None:
    if "managedNamespaceMetadata" not in policy:
        return None
    path = (*at, "managedNamespaceMetadata")
    data = schema.mapping(doc, policy["managedNamespaceMetadata"], *path)
    schema.check(doc, data, schema.NAMESPACE_METADATA, *path)
    return ManagedNamespaceMetadata(
        labels=schema.pairs(doc, data.get("labels"), *path, "labels"),
        annotations=schema.pairs(doc, data.get("annotations"), *path, "annotations"),
    )


def _history_limit(doc: Document, spec: dict[str, Any]) -> int:
    limit = schema.integer(
        doc, spec.get("revisionHistoryLimit"), "spec", "revisionHistoryLimit", default=10
    )
    if limit < 0:
        raise ApplicationInvalid(
            "spec.revisionHistoryLimit must not be negative",
            location=doc.where("spec", "revisionHistoryLimit"),
            hint="the number of history entries to keep (Argo CD's default is 10)",
        )
    return limit


def _finalizers(doc: Document, meta: dict[str, Any]) -> tuple[str, ...]:
    names = schema.texts(doc, meta.get("finalizers"), "metadata", "finalizers")
    for index, name in enumerate(names):
        if name not in FINALIZERS:
            raise ApplicationInvalid(
                f"finalizer {name!r} is not known",
                location=doc.where("metadata", "finalizers", index),
                hint="known: " + ", ".join(FINALIZERS),
            )
    return names


def _annotations(doc: Document, meta: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    notes = schema.pairs(doc, meta.get("annotations"), "metadata", "annotations")
    for key, value in notes:
        prefix = key.split("/", 1)[0] if "/" in key else ""
        if prefix in APP_ANNOTATION_PREFIXES and key not in APP_ANNOTATIONS:
            raise ApplicationInvalid(
                f"annotation {key!r} is not read by Conveyor",
                location=doc.where("metadata", "annotations", key),
                hint="known: " + ", ".join(sorted(APP_ANNOTATIONS)),
            )
        if key == COMPARE_OPTIONS:
            _option(doc, value, syncoptions.COMPARE_OPTIONS, "compare option", key)
    return notes


def _info(doc: Document, spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for index, item in enumerate(schema.sequence(doc, spec.get("info"), "spec", "info")):
        entry = schema.mapping(doc, item, "spec", "info", index)
        schema.check(doc, entry, schema.INFO, "spec", "info", index)
        out.append(
            (
                schema.text(doc, entry.get("name"), "spec", "info", index, "name"),
                schema.text(doc, entry.get("value"), "spec", "info", index, "value"),
            )
        )
    return tuple(out)


def _ignores(doc: Document, spec: dict[str, Any]) -> Iterable[IgnoreRule]:
    at = ("spec", "ignoreDifferences")
    for index, item in enumerate(schema.sequence(doc, spec.get("ignoreDifferences"), *at)):
        entry = schema.mapping(doc, item, *at, index)
        schema.check(doc, entry, schema.IGNORE_DIFFERENCES, *at, index)
        if not entry.get("kind"):
            raise ApplicationInvalid(
                "ignoreDifferences entry needs a kind",
                location=doc.where(*at, index),
                hint='e.g. {group: apps, kind: Deployment, jsonPointers: ["/spec/replicas"]}',
            )
        rule = IgnoreRule(
            kind=str(entry["kind"]),
            group=str(entry.get("group") or ""),
            name=entry.get("name"),
            namespace=entry.get("namespace"),
            json_pointers=schema.texts(doc, entry.get("jsonPointers"), *at, index, "jsonPointers"),
            jq_paths=schema.texts(
                doc, entry.get("jqPathExpressions"), *at, index, "jqPathExpressions"
            ),
            managers=schema.texts(
                doc, entry.get("managedFieldsManagers"), *at, index, "managedFieldsManagers"
            ),
        )
        _check_paths(doc, rule, index)
        yield rule


def _check_paths(doc: Document, rule: IgnoreRule, index: int) -> None:
    """Compile the rule's paths now, so a typo is reported at its line, not mid-sync."""
    try:
        for pointer in rule.json_pointers:
            remove_pointer({}, pointer)
        for path in rule.jq_paths:
            remove_jq({}, path)
    except UserError as exc:
        raise ApplicationInvalid(
            exc.message, hint=exc.hint, location=doc.where("spec", "ignoreDifferences", index)
        ) from exc
