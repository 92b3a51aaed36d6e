"""One Application document, read strictly into `appmodel.Application` (issue 14).

Argo CD's Application schema, read as people who know Argo CD expect, under `apiVersion:
conveyor.dev/v1alpha1` (and `argoproj.io/v1alpha1` as is). Every key is read or refused
through `appschema` (the sources through `appsources`); sync and compare options are
checked against `syncoptions`; finalizers and `argocd.argoproj.io/*` annotations must be
known. Errors carry file:line:col and a hint. Called by `applications` (files and the
Catalog) and, through `applications.parse_document`, by app of apps and ApplicationSets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from conveyor.core.errors import UserError
from conveyor.core.notices import ANNOTATION_DOMAIN, SUBSCRIBE_PREFIX, parse_subscription
from conveyor.reconcile import appdecryption, appsources, syncoptions
from conveyor.reconcile import appschema as schema
from conveyor.reconcile.appmodel import (
    IN_CLUSTER_TARGET,
    Application,
    ManagedNamespaceMetadata,
    Retry,
    SyncPolicy,
)
from conveyor.reconcile.diff import IgnoreRule
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.paths import remove_jq, remove_pointer
from conveyor.reconcile.yamlnodes import Document

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
APP_ANNOTATION_PREFIXES = (
    "argocd.argoproj.io",
    "conveyor.dev",
    "notifications.argoproj.io",
    ANNOTATION_DOMAIN,  # subscriptions (issue 17): checked by `core.notices`
)
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
NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str | int | float, *, where: str = "") -> float:
    """`5s`, `3m`, `1h30m`, or a number of seconds."""
    if isinstance(text, int | float):
        return float(text)
    match = DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ApplicationInvalid(
            f"{where}duration {text!r} is not valid", hint="write e.g. 5s, 3m or 1h30m"
        )
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def application(doc: Document) -> Application:
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
    if not NAME.fullmatch(name):
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
    namespace = schema.text(doc, dest.get("namespace"), "spec", "destination", "namespace")
    return Application(
        name=name,
        sources=found,
        multi_source=multi,
        target=_target(doc, dest),
        namespace=namespace,
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
        decryption=appdecryption.read(doc, spec, namespace=namespace),
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
        return IN_CLUSTER_TARGET
    if server and "://" not in server:
        raise ApplicationInvalid(
            f"destination server {server!r} is not a cluster URL",
            location=doc.where("spec", "destination", "server"),
            hint="give the API server's https:// URL, or name a target in destination.name",
        )
    # A cluster URL: the `kubernetes` target connected to that server (`steps.Env`).
    return server.rstrip("/") or "local"


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
        if prefix == ANNOTATION_DOMAIN:
            _subscription(doc, key)
        elif prefix in APP_ANNOTATION_PREFIXES and key not in APP_ANNOTATIONS:
            raise ApplicationInvalid(
                f"annotation {key!r} is not read by Conveyor",
                location=doc.where("metadata", "annotations", key),
                hint=f"subscribe with {SUBSCRIBE_PREFIX}<trigger>.<destination> instead"
                if prefix == "notifications.argoproj.io"
                else "known: " + ", ".join(sorted(APP_ANNOTATIONS)),
            )
        if key == COMPARE_OPTIONS:
            _option(doc, value, syncoptions.COMPARE_OPTIONS, "compare option", key)
    return notes


def _subscription(doc: Document, key: str) -> None:
    """`notifications.conveyor.dev/subscribe.<trigger>.<destination>` (issue 17); the
    destination is checked against the config when a notice is routed (`notify.routing`)."""
    parsed = parse_subscription(key)
    if isinstance(parsed, str):
        raise ApplicationInvalid(
            f"annotation {key!r}: {parsed}",
            location=doc.where("metadata", "annotations", key),
            hint=f"e.g. {SUBSCRIBE_PREFIX}on-sync-failed.<destination in conveyor.yaml>",
        )


def _info(doc: Document, spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            schema.text(doc, entry.get("name"), *at, "name"),
            schema.text(doc, entry.get("value"), *at, "value"),
        )
        for at, entry in schema.entries(doc, spec.get("info"), schema.INFO, "spec", "info")
    )


def _ignores(doc: Document, spec: dict[str, Any]) -> Iterable[IgnoreRule]:
    listed = spec.get("ignoreDifferences")
    for at, entry in schema.entries(
        doc, listed, schema.IGNORE_DIFFERENCES, "spec", "ignoreDifferences"
    ):
        if not entry.get("kind"):
            raise ApplicationInvalid(
                "ignoreDifferences entry needs a kind",
                location=doc.where(*at),
                hint='e.g. {group: apps, kind: Deployment, jsonPointers: ["/spec/replicas"]}',
            )
        rule = IgnoreRule(
            kind=str(entry["kind"]),
            group=str(entry.get("group") or ""),
            name=entry.get("name"),
            namespace=entry.get("namespace"),
            json_pointers=schema.texts(doc, entry.get("jsonPointers"), *at, "jsonPointers"),
            jq_paths=schema.texts(doc, entry.get("jqPathExpressions"), *at, "jqPathExpressions"),
            managers=schema.texts(
                doc, entry.get("managedFieldsManagers"), *at, "managedFieldsManagers"
            ),
        )
        _check_paths(doc, rule, at)
        yield rule


def _check_paths(doc: Document, rule: IgnoreRule, at: tuple[str | int, ...]) -> None:
    """Compile the rule's paths now, so a typo is reported at its line, not mid-sync."""
    try:
        for pointer in rule.json_pointers:
            remove_pointer({}, pointer)
        for path in rule.jq_paths:
            remove_jq({}, path)
    except UserError as exc:
        raise ApplicationInvalid(exc.message, hint=exc.hint, location=doc.where(*at)) from exc
