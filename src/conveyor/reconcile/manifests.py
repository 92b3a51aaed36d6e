"""Manifest files to objects: YAML streams and JSON, `List` kinds flattened.

Errors carry file:line:col. Uses libyaml's C loader when present: a no-op pass over
1,000 apps parses nothing (render results are cached), but a cold start parses 10,000
files. Called by `render_directory` and `render_kustomize`.

`file_manifests` reads a file of the user's as Argo CD's directory source does: a file
that holds the comment `+argocd:skip-file-rendering` anywhere (Argo CD's documented
marker) gives nothing, and so does a YAML file none of whose documents looks like a
Kubernetes object (no `apiVersion`, `kind` or `metadata` key: a `.sops.yaml`, Helm
values, a CI config), which Argo CD passes over as unrelated. A document that has some of
those keys but not `apiVersion` and `kind` is still an error, as is a JSON file that is
not objects (Argo CD fails on both). Also used by `kustomize_overlay` for the files a
generated kustomization lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from conveyor.core.location import Location
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.yamlnodes import error_location
from conveyor.targets.base import Manifest

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SKIP_MARKER = "+argocd:skip-file-rendering"
RESOURCE_KEYS = ("apiVersion", "kind", "metadata")


def parse_manifests(text: str, file: str) -> list[Manifest]:
    """Every object in `text`; a JSON file may hold one object or a list of them."""
    return list(objects(documents(text, file), file))


def file_manifests(text: str, file: str) -> list[Manifest]:
    """The objects of one of the user's manifest files; none for a file Argo CD skips."""
    if SKIP_MARKER in text:
        return []
    docs = documents(text, file)
    if not file.endswith(".json") and not any(_resource_like(doc) for doc in docs):
        return []
    return list(objects(docs, file))


def _resource_like(doc: object) -> bool:
    if isinstance(doc, list):
        return any(_resource_like(item) for item in doc)
    return isinstance(doc, dict) and any(key in doc for key in RESOURCE_KEYS)


def documents(text: str, file: str) -> list[Any]:
    """The documents of a YAML stream, or the one value of a JSON file (`file` ends .json)."""
    try:
        if file.endswith(".json"):
            return [json.loads(text)]
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise RenderError(
            f"invalid YAML: {exc}",
            location=error_location(exc, file),
            hint="fix the manifest's YAML syntax",
        ) from exc
    except json.JSONDecodeError as exc:
        raise RenderError(
            f"invalid JSON: {exc.msg}",
            location=Location(file=file, line=exc.lineno, col=exc.colno),
            hint="fix the manifest's JSON syntax",
        ) from exc


def objects(docs: list[Any], file: str) -> Iterator[Manifest]:
    """Kubernetes objects in parsed documents: lists and `kind: …List` flattened."""
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if isinstance(doc, list):
            yield from objects(doc, file)
            continue
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise RenderError(
                f"document {index + 1} is not a Kubernetes object "
                "(apiVersion and kind are required)",
                location=Location(file=file),
                hint="remove it or complete it",
            )
        if str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list):
            yield from objects(doc["items"], file)
        else:
            yield doc
