"""Flux documents found among the Applications, read onto the same model (issue 14).

A Flux `Kustomization` (kustomize.toolkit.fluxcd.io/v1, v1beta2) that points at a
`GitRepository` (source.toolkit.fluxcd.io/v1, v1beta2) in the same files becomes an
`Application`: the repository's `url` and `ref` (branch, tag, commit or name) are its
source, `path` its path, rendered as Flux does (a kustomization file is built; without
one, every manifest below the path, as Flux's generated kustomization includes them);
`prune` → automated prune (Flux always corrects drift: self-heal on); `interval` →
the app's reconcile interval; `retryInterval` → the retry backoff; `dependsOn` →
`dependsOn`; `targetNamespace` → destination and kustomize namespace; `suspend` →
suspended; `postBuild.substitute` → variable substitution; `deletionPolicy` → the
resources finalizer; `namePrefix`, `nameSuffix`, `images`, `patches`, `components`,
`commonMetadata` → the kustomize options. The target is where Flux would deploy, its own
cluster: Argo CD's `in-cluster` (that target, else the config's first), unless the
document's `conveyor.dev/target` annotation names another.

What Conveyor cannot honour is refused with a message, never skipped: other source kinds
(OCIRepository, Bucket), `HelmRelease` and `HelmRepository` (write an Argo CD
Application with a Helm source), decryption providers other than `sops`, remote `kubeConfig`,
service accounts, CEL health expressions, substitution from cluster objects. Pure.
Called by `reconcile.applications.load_catalog`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conveyor.reconcile import appdecryption
from conveyor.reconcile import appschema as schema
from conveyor.reconcile.appmodel import (
    IN_CLUSTER_TARGET,
    Application,
    DirectorySpec,
    KustomizeSpec,
    Retry,
    Source,
    SourceKind,
    SyncPolicy,
)
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.substitute import NAME
from conveyor.reconcile.yamlnodes import Document

KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
SOURCE_GROUP = "source.toolkit.fluxcd.io"
VERSIONS = ("v1", "v1beta2")
TARGET_ANNOTATION = "conveyor.dev/target"

_REFUSED_KINDS = {
    "HelmRelease": "write an Argo CD Application with a Helm source (spec.source.chart or a "
    "chart path) instead",
    "HelmRepository": "name the repository in an Application's spec.source.repoURL instead",
    "HelmChart": "name the chart in an Application's spec.source.chart instead",
    "OCIRepository": "use a GitRepository, or an Application with an oci:// Helm chart",
    "Bucket": "use a GitRepository",
    "ExternalArtifact": "use a GitRepository",
}
_METADATA = schema.level("name namespace labels annotations")
_KUSTOMIZATION = schema.level(
    "interval retryInterval path prune sourceRef dependsOn targetNamespace suspend postBuild "
    "deletionPolicy namePrefix nameSuffix images patches components ignoreMissingComponents "
    "commonMetadata timeout wait healthChecks decryption",
    force="recreating objects on immutable-field errors is not supported: change the object's "
    "name to replace it",
    kubeConfig="remote clusters are Conveyor targets: name one with the conveyor.dev/target "
    "annotation",
    serviceAccountName="Conveyor applies with the target's own credentials",
    healthCheckExprs="CEL health expressions are not supported: use a Lua health script in "
    "conveyor.yaml (resource.customizations.health)",
)
_GIT_REPOSITORY = schema.level(
    "url ref interval timeout suspend",
    secretRef="Conveyor fetches with the credentials of the machine it runs on",
    ignore="write the files you want left out into .sourceignore-free paths, or exclude "
    "them with a kustomization",
    include="compose the repositories with an Argo CD multi-source Application instead",
    recurseSubmodules="submodules are not fetched",
    verify="commit signature verification is not supported",
    proxySecretRef="Conveyor fetches without a proxy secret",
    provider="Conveyor fetches with the credentials of the machine it runs on",
    sparseCheckout="Conveyor exports only the path an app reads already",
)
_REF = schema.level("branch tag commit name", semver="name the tag (ref.tag) instead")
_SOURCE_REF = schema.level("kind name namespace apiVersion")
_DEPENDS = schema.level("name namespace", readyExpr="CEL readiness is not supported")
_POST_BUILD = schema.level(
    "substitute",
    substituteFrom="variables from cluster ConfigMaps/Secrets are not supported: write them "
    "in postBuild.substitute",
)
_IMAGE = schema.level("name newName newTag digest")
_COMMON_METADATA = schema.level("labels annotations")
_DELETION = {
    "MirrorPrune": None,
    "Delete": True,
    "WaitForTermination": True,
    "Orphan": False,
}
FINALIZER = "resources-finalizer.argocd.argoproj.io"


@dataclass(frozen=True, slots=True, kw_only=True)
class FluxDocs:
    """The Flux documents of the apps directory, gathered before they are resolved."""

    kustomizations: tuple[Document, ...] = ()
    repositories: tuple[Document, ...] = ()
    refused: tuple[Document, ...] = ()


def is_flux(doc: Document) -> bool:
    """Any Flux document (`*.fluxcd.io`): the kinds `gather` does not read are refused,
    so an Alert or an ImagePolicy among the Applications is reported, not skipped."""
    api = str(doc.data.get("apiVersion") or "") if isinstance(doc.data, dict) else ""
    return api.split("/", 1)[0].endswith(".fluxcd.io")


def gather(docs: Iterable[Document]) -> FluxDocs:
    kustomizations, repositories, refused = [], [], []
    for doc in docs:
        kind = doc.data.get("kind")
        if kind == "Kustomization" and doc.data["apiVersion"].startswith(KUSTOMIZE_GROUP):
            kustomizations.append(doc)
        elif kind == "GitRepository" and doc.data["apiVersion"].startswith(SOURCE_GROUP):
            repositories.append(doc)
        else:
            refused.append(doc)
    return FluxDocs(
        kustomizations=tuple(kustomizations),
        repositories=tuple(repositories),
        refused=tuple(refused),
    )


def refusal(doc: Document) -> ApplicationInvalid:
    """Why a Flux document of a kind Conveyor does not read is refused."""
    kind = str(doc.data.get("kind") or "")
    hint = _REFUSED_KINDS.get(kind, "Conveyor reads Flux Kustomizations and GitRepositories")
    return ApplicationInvalid(
        f"Flux {kind or 'document'} is not supported", location=doc.where("kind"), hint=hint
    )


def repositories(docs: Iterable[Document]) -> dict[tuple[str, str], Source]:
    """GitRepository (namespace, name) → the source it stands for (path filled later)."""
    found = {}
    for doc in docs:
        _check_version(doc)
        meta = _metadata(doc)
        spec = schema.mapping(doc, doc.data.get("spec"), "spec")
        schema.check(doc, spec, _GIT_REPOSITORY, "spec")
        url = schema.text(doc, spec.get("url"), "spec", "url")
        if not url:
            raise ApplicationInvalid(
                "GitRepository spec.url is required", location=doc.where("spec"), hint="add url:"
            )
        found[(meta["namespace"], meta["name"])] = Source(
            repo_url=url, target_revision=_revision(doc, spec)
        )
    return found


def application(doc: Document, repos: dict[tuple[str, str], Source]) -> Application:
    """The Application a Flux Kustomization stands for."""
    _check_version(doc)
    meta = _metadata(doc)
    spec = schema.mapping(doc, doc.data.get("spec"), "spec")
    schema.check(doc, spec, _KUSTOMIZATION, "spec")
    repo = _source_ref(doc, spec, meta["namespace"], repos)
    prune = schema.flag(doc, spec.get("prune"), "spec", "prune")
    interval = _duration(doc, spec, "interval", required=True)
    target_namespace = schema.text(doc, spec.get("targetNamespace"), "spec", "targetNamespace")
    notes = dict(schema.pairs(doc, meta.get("annotations"), "metadata", "annotations"))
    return Application(
        name=meta["name"],
        sources=(_source(doc, spec, repo, target_namespace),),
        target=notes.get(TARGET_ANNOTATION, IN_CLUSTER_TARGET),  # Flux deploys where it runs
        namespace=target_namespace,
        sync_policy=SyncPolicy(
            automated=True,
            prune=prune,
            self_heal=True,
            retry=Retry(
                limit=-1,
                duration=_duration(doc, spec, "retryInterval") or interval,
                factor=1.0,
                max_duration=_duration(doc, spec, "retryInterval") or interval,
            ),
        ),
        depends_on=_depends_on(doc, spec),
        file=doc.file,
        finalizers=_finalizers(doc, spec, prune),
        labels=schema.pairs(doc, meta.get("labels"), "metadata", "labels"),
        origin="Kustomization",
        substitutions=_substitutions(doc, spec),
        interval=interval,
        suspended=schema.flag(doc, spec.get("suspend"), "spec", "suspend"),
        decryption=appdecryption.read(doc, spec, namespace=meta["namespace"], flux=True),
    )


def _check_version(doc: Document) -> None:
    version = str(doc.data.get("apiVersion")).rsplit("/", 1)[-1]
    if version not in VERSIONS:
        raise ApplicationInvalid(
            f"apiVersion {doc.data.get('apiVersion')!r} is not supported",
            location=doc.where("apiVersion"),
            hint="use the v1 API (flux migrate updates older documents)",
        )


def _metadata(doc: Document) -> dict[str, Any]:
    meta = schema.mapping(doc, doc.data.get("metadata"), "metadata")
    schema.check(doc, meta, _METADATA, "metadata")
    name = schema.text(doc, meta.get("name"), "metadata", "name")
    if not name:
        raise ApplicationInvalid(
            "metadata.name is required", location=doc.where("metadata"), hint="add name:"
        )
    namespace = schema.text(doc, meta.get("namespace"), "metadata", "namespace")
    return {**meta, "name": name, "namespace": namespace or "default"}


def _revision(doc: Document, spec: dict[str, Any]) -> str:
    ref = schema.mapping(doc, spec.get("ref"), "spec", "ref")
    schema.check(doc, ref, _REF, "spec", "ref")
    for key in ("commit", "name", "tag", "branch"):  # Flux's precedence
        if value := schema.text(doc, ref.get(key), "spec", "ref", key):
            return value
    return "master"  # Flux's default branch


def _source_ref(
    doc: Document, spec: dict[str, Any], namespace: str, repos: dict[tuple[str, str], Source]
) -> Source:
    ref = schema.mapping(doc, spec.get("sourceRef"), "spec", "sourceRef")
    schema.check(doc, ref, _SOURCE_REF, "spec", "sourceRef")
    kind = schema.text(doc, ref.get("kind"), "spec", "sourceRef", "kind")
    if kind != "GitRepository":
        raise ApplicationInvalid(
            f"sourceRef kind {kind!r} is not supported",
            location=doc.where("spec", "sourceRef", "kind"),
            hint="point the Kustomization at a GitRepository",
        )
    name = schema.text(doc, ref.get("name"), "spec", "sourceRef", "name")
    where = schema.text(doc, ref.get("namespace"), "spec", "sourceRef", "namespace") or namespace
    if (where, name) not in repos:
        raise ApplicationInvalid(
            f"GitRepository {where}/{name} is not defined in the application files",
            location=doc.where("spec", "sourceRef", "name"),
            hint="add the GitRepository document beside the Kustomization",
        )
    return repos[(where, name)]


def _source(doc: Document, spec: dict[str, Any], repo: Source, namespace: str) -> Source:
    path = schema.text(doc, spec.get("path"), "spec", "path").strip() or "."
    kustomize = _kustomize(doc, spec, namespace)
    return Source(
        repo_url=repo.repo_url,
        target_revision=repo.target_revision,
        path=path.removeprefix("./") or ".",
        # Flux builds a kustomization when the path has one and generates one over every
        # manifest below it otherwise: DETECT with a recursing directory does both.
        kind=SourceKind.DETECT if kustomize.empty else SourceKind.KUSTOMIZE,
        directory=DirectorySpec(recurse=True),
        kustomize=kustomize,
    )


def _kustomize(doc: Document, spec: dict[str, Any], namespace: str) -> KustomizeSpec:
    common = schema.mapping(doc, spec.get("commonMetadata"), "spec", "commonMetadata")
    schema.check(doc, common, _COMMON_METADATA, "spec", "commonMetadata")
    labels = schema.pairs(doc, common.get("labels"), "spec", "commonMetadata", "labels")
    patches = schema.sequence(doc, spec.get("patches"), "spec", "patches")
    return KustomizeSpec(
        namespace=namespace,
        name_prefix=schema.text(doc, spec.get("namePrefix"), "spec", "namePrefix"),
        name_suffix=schema.text(doc, spec.get("nameSuffix"), "spec", "nameSuffix"),
        images=_images(doc, spec),
        common_labels=labels,
        common_annotations=schema.pairs(
            doc, common.get("annotations"), "spec", "commonMetadata", "annotations"
        ),
        label_without_selector=bool(labels),  # commonMetadata never touches selectors
        patches=json.dumps(patches, sort_keys=True, separators=(",", ":")) if patches else "",
        components=schema.texts(doc, spec.get("components"), "spec", "components"),
        ignore_missing_components=schema.flag(
            doc, spec.get("ignoreMissingComponents"), "spec", "ignoreMissingComponents"
        ),
    )


def _images(doc: Document, spec: dict[str, Any]) -> tuple[str, ...]:
    """Flux's kustomize image entries as Argo CD's `[old=]new[:tag][@digest]` strings."""
    out = []
    for at, entry in schema.entries(doc, spec.get("images"), _IMAGE, "spec", "images"):
        name = schema.text(doc, entry.get("name"), *at, "name")
        new = schema.text(doc, entry.get("newName"), *at, "newName") or name
        tag = schema.text(doc, entry.get("newTag"), *at, "newTag")
        digest = schema.text(doc, entry.get("digest"), *at, "digest")
        out.append(f"{name}={new}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else ""))
    return tuple(out)


def _depends_on(doc: Document, spec: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        schema.text(doc, entry.get("name"), *at, "name")
        for at, entry in schema.entries(doc, spec.get("dependsOn"), _DEPENDS, "spec", "dependsOn")
    )


def _finalizers(doc: Document, spec: dict[str, Any], prune: bool) -> tuple[str, ...]:
    policy = schema.text(doc, spec.get("deletionPolicy"), "spec", "deletionPolicy")
    policy = policy or "MirrorPrune"
    if policy not in _DELETION:
        raise ApplicationInvalid(
            f"deletionPolicy {policy!r} is not valid",
            location=doc.where("spec", "deletionPolicy"),
            hint="use " + ", ".join(_DELETION),
        )
    delete = _DELETION[policy]
    return (FINALIZER,) if (prune if delete is None else delete) else ()


def _substitutions(doc: Document, spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    post = schema.mapping(doc, spec.get("postBuild"), "spec", "postBuild")
    schema.check(doc, post, _POST_BUILD, "spec", "postBuild")
    found = schema.pairs(doc, post.get("substitute"), "spec", "postBuild", "substitute")
    for name, _ in found:
        if not NAME.match(name):
            raise ApplicationInvalid(
                f"substitution variable {name!r} is not a valid name",
                location=doc.where("spec", "postBuild", "substitute", name),
                hint="letters, digits and '_', not starting with a digit",
            )
    return found


def _duration(doc: Document, spec: dict[str, Any], key: str, *, required: bool = False) -> float:
    if key not in spec:
        if required:
            raise ApplicationInvalid(
                f"spec.{key} is required", location=doc.where("spec"), hint="e.g. 10m"
            )
        return 0.0
    text = schema.text(doc, spec[key], "spec", key)
    seconds = _go_duration(text)
    if seconds is None:
        raise ApplicationInvalid(
            f"spec.{key} {text!r} is not a duration",
            location=doc.where("spec", key),
            hint="e.g. 30s, 10m or 1h0m0s",
        )
    return seconds


def _go_duration(text: str) -> float | None:
    """Go's `time.ParseDuration` for h/m/s/ms units (what Flux documents use)."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    total, number, rest = 0.0, "", text.strip()
    if not rest:
        return None
    while rest:
        while rest and (rest[0].isdigit() or rest[0] == "."):
            number, rest = number + rest[0], rest[1:]
        unit = "ms" if rest.startswith("ms") else rest[:1]
        if not number or unit not in units:
            return None
        total += float(number) * units[unit]
        number, rest = "", rest[len(unit) :]
    return total
