"""Which Application fields Conveyor reads, and which it refuses with a reason (issue 14).

Argo CD's own validation rejects unknown fields; Conveyor does the same, and it also
refuses the fields it knows but does not act on, so that nothing is silently ignored.
Each level of the spec is a `Level`: the keys it reads and the keys it refuses (with
what to do instead). `check` raises `ApplicationInvalid` at the first key of a mapping
that is neither, naming `file:line:col` and the closest known key. Pure: no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.yamlnodes import Document


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    """The keys of one mapping in the spec: `known` are read; `refused` maps a key Argo CD
    has but Conveyor does not implement to the hint the user gets."""

    known: frozenset[str]
    refused: Mapping[str, str] = field(default_factory=dict)


def level(known: str, **refused: str) -> Level:
    return Level(known=frozenset(known.split()), refused=refused)


TOP = level("apiVersion kind metadata spec", status="remove `status`: the reconciler writes it")
TOP_REFUSED_OPERATION = "remove `operation`: start a sync with `conveyor app sync NAME` instead"
METADATA = level(
    "name namespace labels annotations finalizers",
)
# Written by a cluster when an Application is exported with `kubectl get -o yaml`: they
# carry no intent, so they are accepted and not read.
METADATA_SERVER_FIELDS = frozenset(
    ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"]
)
SPEC = level(
    "source sources destination syncPolicy ignoreDifferences project revisionHistoryLimit "
    "info dependsOn decryption",
    sourceHydrator="source hydration is not supported: render in CI and commit the output, "
    "then point spec.source at it",
)
SOURCE = level(
    "repoURL path targetRevision chart ref name directory kustomize helm",
    plugin="config management plugins are not supported: render with the plugin in CI and "
    "commit the manifests it produces",
)
DIRECTORY = level("recurse include exclude jsonnet")
JSONNET = level("extVars tlas libs")
JSONNET_VAR = level("name value code")
KUSTOMIZE = level(
    "namePrefix nameSuffix namespace images commonLabels commonAnnotations forceCommonLabels "
    "forceCommonAnnotations labelWithoutSelector replicas patches components "
    "ignoreMissingComponents",
    version="only the bundled kustomize is run: remove kustomize.version",
    apiVersions="only used for Helm charts kustomize inflates (--enable-helm), which "
    "Conveyor does not run: remove it, or use a Helm source",
    kubeVersion="only used for Helm charts kustomize inflates (--enable-helm), which "
    "Conveyor does not run: remove it, or use a Helm source",
    commonAnnotationsEnvsubst="environment substitution in annotations is not supported: "
    "write the values out",
    labelIncludeTemplates="not supported: use a `labels` transformer in the kustomization",
)
KUSTOMIZE_REPLICA = level("name count")
HELM = level(
    "valueFiles ignoreMissingValueFiles values valuesObject parameters fileParameters "
    "releaseName namespace skipCrds skipTests skipSchemaValidation passCredentials version "
    "apiVersions kubeVersion",
)
HELM_PARAMETER = level("name value forceString")
HELM_FILE_PARAMETER = level("name path")
DESTINATION = level("name namespace server")
SYNC_POLICY = level("automated syncOptions retry managedNamespaceMetadata")
AUTOMATED = level("prune selfHeal allowEmpty enabled")
RETRY = level(
    "limit backoff",
    refresh="not supported: a retry always syncs the revision it started with",
)
BACKOFF = level("duration factor maxDuration")
NAMESPACE_METADATA = level("labels annotations")
IGNORE_DIFFERENCES = level(
    "group kind name namespace jsonPointers jqPathExpressions managedFieldsManagers"
)
INFO = level("name value")
DECRYPTION = level("provider keyFile secretRef")
SECRET_REF = level("name namespace")


def check(doc: Document, value: Mapping[str, Any], spec: Level, *path: str | int) -> None:
    """ApplicationInvalid at the first key of `value` that `spec` does not read."""
    for key in value:
        name = str(key)
        if name in spec.known:
            continue
        dotted = ".".join(str(p) for p in (*path, name))
        if name in spec.refused:
            raise ApplicationInvalid(
                f"{dotted} is not supported by Conveyor",
                location=doc.where(*path, name),
                hint=spec.refused[name],
            )
        close = difflib.get_close_matches(name, sorted(spec.known), n=1)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else "known fields: " + ", ".join(sorted(spec.known))
        )
        raise ApplicationInvalid(
            f"unknown field {dotted}", location=doc.where(*path, name), hint=hint
        )


# Typed reads: each names the field's path and location when the value has the wrong type.


def mapping(doc: Document, value: Any, *path: str | int) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApplicationInvalid(
            f"{_dotted(path)} must be a mapping",
            location=doc.where(*path),
            hint="see Argo CD's Application reference",
        )
    return value


def sequence(doc: Document, value: Any, *path: str | int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApplicationInvalid(
            f"{_dotted(path)} must be a list",
            location=doc.where(*path),
            hint="write a YAML sequence",
        )
    return value


def text(doc: Document, value: Any, *path: str | int) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ApplicationInvalid(
            f"{_dotted(path)} must be a string", location=doc.where(*path), hint="quote the value"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flag(doc: Document, value: Any, *path: str | int) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ApplicationInvalid(
        f"{_dotted(path)} must be true or false",
        location=doc.where(*path),
        hint="write true or false",
    )


def integer(doc: Document, value: Any, *path: str | int, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApplicationInvalid(
            f"{_dotted(path)} must be an integer", location=doc.where(*path), hint="e.g. 3"
        )
    try:
        return int(value)
    except ValueError:
        raise ApplicationInvalid(
            f"{_dotted(path)} must be an integer", location=doc.where(*path), hint="e.g. 3"
        ) from None


def entries(
    doc: Document, value: Any, spec: Level, *path: str | int
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Each item of the list at `path` as a mapping checked against `spec`, with its path."""
    for index, item in enumerate(sequence(doc, value, *path)):
        where = (*path, index)
        entry = mapping(doc, item, *where)
        check(doc, entry, spec, *where)
        yield where, entry


def texts(doc: Document, value: Any, *path: str | int) -> tuple[str, ...]:
    return tuple(text(doc, v, *path, i) for i, v in enumerate(sequence(doc, value, *path)))


def pairs(doc: Document, value: Any, *path: str | int) -> tuple[tuple[str, str], ...]:
    data = mapping(doc, value, *path)
    return tuple(sorted((str(k), text(doc, v, *path, str(k))) for k, v in data.items()))


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)
