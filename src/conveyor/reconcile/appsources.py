"""`spec.source` / `spec.sources` of an Application, read strictly into `appmodel.Source`.

Every key is checked against `appschema` (unknown ⇒ error with the closest known key;
known but not implemented ⇒ error saying what to do), every value against its type.
Called by `applications` only.
"""

from __future__ import annotations

import json
from typing import Any

from conveyor.reconcile import appschema as schema
from conveyor.reconcile.appmodel import (
    DirectorySpec,
    HelmFileParameter,
    HelmParameter,
    HelmSpec,
    JsonnetSpec,
    JsonnetVar,
    KustomizeReplica,
    KustomizeSpec,
    Source,
    SourceKind,
)
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.yamlnodes import Document

Path_ = tuple[str | int, ...]


def sources(doc: Document, spec: dict[str, Any]) -> tuple[tuple[Source, ...], bool]:
    """The app's sources and whether it is a multi-source app (`spec.sources`)."""
    if "source" in spec and "sources" in spec:
        raise ApplicationInvalid(
            "spec sets both source and sources",
            location=doc.where("spec", "sources"),
            hint="keep one: `sources` (a list) replaces `source`",
        )
    if "sources" in spec:
        items = schema.sequence(doc, spec["sources"], "spec", "sources")
        if not items:
            raise ApplicationInvalid(
                "spec.sources is empty", location=doc.where("spec", "sources"), hint="add a source"
            )
        found = tuple(source(doc, item, ("spec", "sources", i)) for i, item in enumerate(items))
        _check_refs(doc, found)
        if not any(s.renders for s in found):
            raise ApplicationInvalid(
                "no source in spec.sources renders anything: each one only has a ref",
                location=doc.where("spec", "sources"),
                hint="give one source a path or a chart",
            )
        return found, True
    if "source" not in spec:
        raise ApplicationInvalid(
            "spec.source is required",
            location=doc.where("spec"),
            hint="add spec.source with repoURL and path (or spec.sources)",
        )
    return (source(doc, spec["source"], ("spec", "source")),), False


def source(doc: Document, value: Any, path: Path_) -> Source:
    src = schema.mapping(doc, value, *path)
    if not src:
        raise ApplicationInvalid(
            f"{_dotted(path)} must be a mapping", location=doc.where(*path), hint="add repoURL"
        )
    schema.check(doc, src, schema.SOURCE, *path)
    if not src.get("repoURL"):
        raise ApplicationInvalid(
            f"{_dotted(path)}.repoURL is required",
            location=doc.where(*path),
            hint="the config repository's URL or local path",
        )
    kinds = [k for k in ("directory", "kustomize", "helm") if k in src]
    if len(kinds) > 1:
        raise ApplicationInvalid(
            f"{_dotted(path)} sets both {kinds[0]} and {kinds[1]}",
            location=doc.where(*path, kinds[1]),
            hint="choose one source type",
        )
    chart = schema.text(doc, src.get("chart"), *path, "chart")
    if chart and kinds and kinds[0] != "helm":
        raise ApplicationInvalid(
            f"{_dotted(path)}.chart is a Helm chart, but {kinds[0]} is set",
            location=doc.where(*path, kinds[0]),
            hint="a chart source takes `helm:` options only",
        )
    if chart and "path" in src:
        raise ApplicationInvalid(
            f"{_dotted(path)} sets both chart and path",
            location=doc.where(*path, "path"),
            hint="`chart` names a chart in a Helm repository; `path` a directory in Git",
        )
    repo_url = schema.text(doc, src["repoURL"], *path, "repoURL")
    source_path = schema.text(doc, src.get("path"), *path, "path") or "."
    if repo_url.startswith("oci://") and not chart:
        repo_url, chart = _oci_chart(doc, repo_url, source_path, path)
        source_path = "."
    kind = SourceKind(kinds[0]) if kinds else (SourceKind.HELM if chart else SourceKind.DETECT)
    return Source(
        repo_url=repo_url,
        path=source_path,
        target_revision=schema.text(doc, src.get("targetRevision"), *path, "targetRevision")
        or "HEAD",
        chart=chart,
        ref=_ref(doc, src, path),
        name=schema.text(doc, src.get("name"), *path, "name"),
        kind=kind,
        directory=_directory(doc, src.get("directory"), (*path, "directory")),
        kustomize=_kustomize(doc, src.get("kustomize"), (*path, "kustomize")),
        helm=_helm(doc, src.get("helm"), (*path, "helm")),
    )


def _oci_chart(doc: Document, url: str, inside: str, path: Path_) -> tuple[str, str]:
    """Argo CD's OCI source (`repoURL: oci://host/charts/web`, `path: .`): the chart is
    the last segment of the reference. Only Helm charts are read from OCI registries."""
    if inside.strip("/") not in ("", "."):
        raise ApplicationInvalid(
            f"{_dotted(path)}.path {inside!r} inside an OCI artifact is not supported",
            location=doc.where(*path, "path"),
            hint="Conveyor reads Helm charts from OCI registries: use path: .",
        )
    repository, _, chart = url.rstrip("/").rpartition("/")
    if not chart or repository in ("oci:", "oci:/"):
        raise ApplicationInvalid(
            f"{_dotted(path)}.repoURL {url!r} names no chart",
            location=doc.where(*path, "repoURL"),
            hint="write oci://HOST/PATH/CHART, or repoURL oci://HOST/PATH with chart: CHART",
        )
    return repository, chart


def _ref(doc: Document, src: dict[str, Any], path: Path_) -> str:
    ref = schema.text(doc, src.get("ref"), *path, "ref")
    if ref and path[:2] != ("spec", "sources"):
        raise ApplicationInvalid(
            "spec.source.ref only has a meaning in spec.sources",
            location=doc.where(*path, "ref"),
            hint="move the sources into spec.sources, or remove ref",
        )
    return ref


def _check_refs(doc: Document, found: tuple[Source, ...]) -> None:
    seen: set[str] = set()
    for index, src in enumerate(found):
        if src.ref and src.ref in seen:
            raise ApplicationInvalid(
                f"two sources share ref {src.ref!r}",
                location=doc.where("spec", "sources", index, "ref"),
                hint="refs name one source each",
            )
        seen.add(src.ref)
    for index, src in enumerate(found):
        for file_index, name in enumerate(src.helm.value_files):
            if name.startswith("$") and name[1:].split("/", 1)[0] not in seen:
                raise ApplicationInvalid(
                    f"value file {name!r} names no source's ref",
                    location=doc.where("spec", "sources", index, "helm", "valueFiles", file_index),
                    hint="add `ref: NAME` to the source that holds the file",
                )


def _directory(doc: Document, value: Any, path: Path_) -> DirectorySpec:
    data = schema.mapping(doc, value, *path)
    schema.check(doc, data, schema.DIRECTORY, *path)
    jsonnet = schema.mapping(doc, data.get("jsonnet"), *path, "jsonnet")
    schema.check(doc, jsonnet, schema.JSONNET, *path, "jsonnet")
    return DirectorySpec(
        recurse=schema.flag(doc, data.get("recurse"), *path, "recurse"),
        include=schema.text(doc, data.get("include"), *path, "include"),
        exclude=schema.text(doc, data.get("exclude"), *path, "exclude"),
        jsonnet=JsonnetSpec(
            ext_vars=_jsonnet_vars(doc, jsonnet.get("extVars"), (*path, "jsonnet", "extVars")),
            tlas=_jsonnet_vars(doc, jsonnet.get("tlas"), (*path, "jsonnet", "tlas")),
            libs=schema.texts(doc, jsonnet.get("libs"), *path, "jsonnet", "libs"),
        ),
    )


def _jsonnet_vars(doc: Document, value: Any, path: Path_) -> tuple[JsonnetVar, ...]:
    return tuple(
        JsonnetVar(
            name=_required(doc, entry, "name", at),
            value=schema.text(doc, entry.get("value"), *at, "value"),
            code=schema.flag(doc, entry.get("code"), *at, "code"),
        )
        for at, entry in schema.entries(doc, value, schema.JSONNET_VAR, *path)
    )


def _kustomize(doc: Document, value: Any, path: Path_) -> KustomizeSpec:
    data = schema.mapping(doc, value, *path)
    schema.check(doc, data, schema.KUSTOMIZE, *path)
    replicas = [
        KustomizeReplica(
            name=_required(doc, entry, "name", at),
            count=schema.integer(doc, entry.get("count"), *at, "count"),
        )
        for at, entry in schema.entries(
            doc, data.get("replicas"), schema.KUSTOMIZE_REPLICA, *path, "replicas"
        )
    ]
    patches = schema.sequence(doc, data.get("patches"), *path, "patches")
    for index, item in enumerate(patches):
        schema.mapping(doc, item, *path, "patches", index)
    return KustomizeSpec(
        name_prefix=schema.text(doc, data.get("namePrefix"), *path, "namePrefix"),
        name_suffix=schema.text(doc, data.get("nameSuffix"), *path, "nameSuffix"),
        namespace=schema.text(doc, data.get("namespace"), *path, "namespace"),
        images=schema.texts(doc, data.get("images"), *path, "images"),
        common_labels=schema.pairs(doc, data.get("commonLabels"), *path, "commonLabels"),
        common_annotations=schema.pairs(
            doc, data.get("commonAnnotations"), *path, "commonAnnotations"
        ),
        force_common_labels=schema.flag(
            doc, data.get("forceCommonLabels"), *path, "forceCommonLabels"
        ),
        force_common_annotations=schema.flag(
            doc, data.get("forceCommonAnnotations"), *path, "forceCommonAnnotations"
        ),
        label_without_selector=schema.flag(
            doc, data.get("labelWithoutSelector"), *path, "labelWithoutSelector"
        ),
        replicas=tuple(replicas),
        patches=_canonical(patches) if patches else "",
        components=schema.texts(doc, data.get("components"), *path, "components"),
        ignore_missing_components=schema.flag(
            doc, data.get("ignoreMissingComponents"), *path, "ignoreMissingComponents"
        ),
        api_versions=schema.texts(doc, data.get("apiVersions"), *path, "apiVersions"),
        kube_version=schema.text(doc, data.get("kubeVersion"), *path, "kubeVersion"),
    )


def _helm(doc: Document, value: Any, path: Path_) -> HelmSpec:
    data = schema.mapping(doc, value, *path)
    schema.check(doc, data, schema.HELM, *path)
    version = schema.text(doc, data.get("version"), *path, "version")
    if version not in ("", "v3"):
        raise ApplicationInvalid(
            f"{_dotted(path)}.version {version!r} is not supported",
            location=doc.where(*path, "version"),
            hint="Conveyor renders with Helm 3 semantics: write v3 or remove the field",
        )
    values_object = schema.mapping(doc, data.get("valuesObject"), *path, "valuesObject")
    values = data.get("values")
    if isinstance(values, dict):  # Argo CD accepts an object here too
        values_text = json.dumps(values)
    else:
        values_text = schema.text(doc, values, *path, "values")
    return HelmSpec(
        value_files=schema.texts(doc, data.get("valueFiles"), *path, "valueFiles"),
        ignore_missing_value_files=schema.flag(
            doc, data.get("ignoreMissingValueFiles"), *path, "ignoreMissingValueFiles"
        ),
        values=values_text,
        values_object=_canonical(values_object) if values_object else "",
        parameters=_helm_parameters(doc, data.get("parameters"), (*path, "parameters")),
        file_parameters=_helm_file_parameters(
            doc, data.get("fileParameters"), (*path, "fileParameters")
        ),
        release_name=schema.text(doc, data.get("releaseName"), *path, "releaseName"),
        namespace=schema.text(doc, data.get("namespace"), *path, "namespace"),
        skip_crds=schema.flag(doc, data.get("skipCrds"), *path, "skipCrds"),
        skip_tests=schema.flag(doc, data.get("skipTests"), *path, "skipTests"),
        skip_schema_validation=schema.flag(
            doc, data.get("skipSchemaValidation"), *path, "skipSchemaValidation"
        ),
        pass_credentials=schema.flag(doc, data.get("passCredentials"), *path, "passCredentials"),
        version=version,
        api_versions=schema.texts(doc, data.get("apiVersions"), *path, "apiVersions"),
        kube_version=schema.text(doc, data.get("kubeVersion"), *path, "kubeVersion"),
    )


def _helm_parameters(doc: Document, value: Any, path: Path_) -> tuple[HelmParameter, ...]:
    return tuple(
        HelmParameter(
            name=_required(doc, entry, "name", at),
            value=schema.text(doc, entry.get("value"), *at, "value"),
            force_string=schema.flag(doc, entry.get("forceString"), *at, "forceString"),
        )
        for at, entry in schema.entries(doc, value, schema.HELM_PARAMETER, *path)
    )


def _helm_file_parameters(doc: Document, value: Any, path: Path_) -> tuple[HelmFileParameter, ...]:
    return tuple(
        HelmFileParameter(
            name=_required(doc, entry, "name", at), path=_required(doc, entry, "path", at)
        )
        for at, entry in schema.entries(doc, value, schema.HELM_FILE_PARAMETER, *path)
    )


def _required(doc: Document, entry: dict[str, Any], key: str, path: Path_) -> str:
    value = schema.text(doc, entry.get(key), *path, key)
    if not value:
        raise ApplicationInvalid(
            f"{_dotted(path)}.{key} is required", location=doc.where(*path), hint=f"add {key}:"
        )
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)
