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
from conveyor.reconcile.diff import IgnoreRule
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.paths import remove_jq, remove_pointer
from conveyor.reconcile.yamlnodes import Document, error_location, load_documents

API_VERSIONS = ("conveyor.dev/v1alpha1", "argoproj.io/v1alpha1")
IN_CLUSTER = "https://kubernetes.default.svc"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    repo_url: str
    path: str = "."
    target_revision: str = "HEAD"
    kind: str = ""  # "directory" | "kustomize" | "helm" | "plugin" | "" (detect from files)
    recurse: bool = False
    include: str = ""
    exclude: str = ""
    images: tuple[str, ...] = ()
    name_prefix: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    limit: int = 0
    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncPolicy:
    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    sync_options: tuple[str, ...] = ()
    retry: Retry = Retry()


@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    name: str
    source: Source
    target: str
    namespace: str
    sync_policy: SyncPolicy
    ignore_differences: tuple[IgnoreRule, ...] = ()
    depends_on: tuple[str, ...] = ()
    file: str = ""


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


def load_applications(paths: Iterable[Path]) -> list[Application]:
    """Every Application in the given files and directories (`*.yaml`, `*.yml`, `*.json`)."""
    apps: list[Application] = []
    for path in paths:
        files = (
            sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
            if path.is_dir()
            else [path]
        )
        for file in files:
            apps.extend(parse_applications(file.read_text(), str(file)))
    _check_unique(apps)
    return apps


def parse_applications(text: str, file: str) -> list[Application]:
    try:
        docs = list(load_documents(text, file))
    except yaml.YAMLError as exc:
        raise ApplicationInvalid(
            f"invalid YAML: {exc}", location=error_location(exc, file), hint="fix the YAML syntax"
        ) from exc
    return [
        _application(doc)
        for doc in docs
        if isinstance(doc.data, dict) and doc.data.get("kind") == "Application"
    ]


def _check_unique(apps: list[Application]) -> None:
    seen: dict[str, str] = {}
    for app in apps:
        if app.name in seen:
            raise ApplicationInvalid(
                f"application {app.name!r} is defined twice ({seen[app.name]} and {app.file})",
                hint="application names must be unique",
            )
        seen[app.name] = app.file


def _application(doc: Document) -> Application:
    data = doc.data
    if data.get("apiVersion") not in API_VERSIONS:
        raise ApplicationInvalid(
            f"unsupported apiVersion {data.get('apiVersion')!r}",
            location=doc.where("apiVersion"),
            hint=f"use {API_VERSIONS[0]}",
        )
    name = str((data.get("metadata") or {}).get("name") or "")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
        raise ApplicationInvalid(
            f"metadata.name {name!r} is not a valid name",
            location=doc.where("metadata", "name"),
            hint="lower-case letters, digits, '-' and '.'",
        )
    spec = _mapping(doc, data.get("spec"), "spec")
    dest = _mapping(doc, spec.get("destination"), "spec", "destination")
    return Application(
        name=name,
        source=_source(doc, spec),
        target=_target(doc, dest),
        namespace=str(dest.get("namespace") or ""),
        sync_policy=_sync_policy(doc, spec),
        ignore_differences=tuple(_ignores(doc, spec)),
        depends_on=tuple(str(d) for d in _list(doc, spec.get("dependsOn"), "spec", "dependsOn")),
        file=doc.file,
    )


def _source(doc: Document, spec: dict[str, Any]) -> Source:
    src = _mapping(doc, spec.get("source"), "spec", "source")
    if not src.get("repoURL"):
        raise ApplicationInvalid(
            "spec.source.repoURL is required",
            location=doc.where("spec", "source"),
            hint="the config repository's URL or local path",
        )
    # `chart` is a Helm repository chart; `plugin` a config management plugin. Neither is
    # rendered yet (issue 14): they become source kinds whose render says so.
    kinds = [k for k in ("directory", "kustomize", "helm", "plugin") if k in src]
    if "chart" in src and "helm" not in kinds:
        kinds.append("helm")
    if len(kinds) > 1:
        raise ApplicationInvalid(
            f"spec.source sets both {kinds[0]} and {kinds[1]}",
            location=doc.where("spec", "source", kinds[1]),
            hint="choose one source type",
        )
    directory = src.get("directory") or {}
    kustomize = src.get("kustomize") or {}
    return Source(
        repo_url=str(src["repoURL"]),
        path=str(src.get("path") or "."),
        target_revision=str(src.get("targetRevision") or "HEAD"),
        kind=kinds[0] if kinds else "",
        recurse=bool(directory.get("recurse", False)),
        include=str(directory.get("include") or ""),
        exclude=str(directory.get("exclude") or ""),
        images=tuple(str(i) for i in kustomize.get("images") or ()),
        name_prefix=str(kustomize.get("namePrefix") or ""),
    )


def _target(doc: Document, dest: dict[str, Any]) -> str:
    if dest.get("name"):
        return str(dest["name"])
    server = str(dest.get("server") or "")
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
    policy = _mapping(doc, spec.get("syncPolicy") or {}, "spec", "syncPolicy")
    automated = policy.get("automated")
    auto = automated if isinstance(automated, dict) else {}
    retry = policy.get("retry") or {}
    backoff = retry.get("backoff") or {}
    where = "spec.syncPolicy.retry.backoff: "
    return SyncPolicy(
        automated=automated is not None and automated is not False,
        prune=bool(auto.get("prune", False)),
        self_heal=bool(auto.get("selfHeal", False)),
        allow_empty=bool(auto.get("allowEmpty", False)),
        sync_options=tuple(str(o) for o in policy.get("syncOptions") or ()),
        retry=Retry(
            limit=int(retry.get("limit", 0)),
            duration=parse_duration(backoff.get("duration", "5s"), where=where),
            factor=float(backoff.get("factor", 2)),
            max_duration=parse_duration(backoff.get("maxDuration", "3m"), where=where),
        ),
    )


def _ignores(doc: Document, spec: dict[str, Any]) -> Iterable[IgnoreRule]:
    for index, item in enumerate(
        _list(doc, spec.get("ignoreDifferences"), "spec", "ignoreDifferences")
    ):
        entry = _mapping(doc, item, "spec", "ignoreDifferences", index)
        if not entry.get("kind"):
            raise ApplicationInvalid(
                "ignoreDifferences entry needs a kind",
                location=doc.where("spec", "ignoreDifferences", index),
                hint='e.g. {group: apps, kind: Deployment, jsonPointers: ["/spec/replicas"]}',
            )
        rule = IgnoreRule(
            kind=str(entry["kind"]),
            group=str(entry.get("group") or ""),
            name=entry.get("name"),
            namespace=entry.get("namespace"),
            json_pointers=tuple(str(p) for p in entry.get("jsonPointers") or ()),
            jq_paths=tuple(str(p) for p in entry.get("jqPathExpressions") or ()),
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


def _mapping(doc: Document, value: Any, *path: str | int) -> dict[str, Any]:
    if not isinstance(value, dict):
        dotted = ".".join(str(p) for p in path)
        raise ApplicationInvalid(
            f"{dotted} must be a mapping",
            location=doc.where(*path),
            hint="see Argo CD's Application reference",
        )
    return value


def _list(doc: Document, value: Any, *path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApplicationInvalid(
            f"{'.'.join(path)} must be a list",
            location=doc.where(*path),
            hint="write a YAML sequence",
        )
    return value
