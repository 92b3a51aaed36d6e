"""Flux's post-build variable substitution (`Kustomization.spec.postBuild.substitute`).

Each rendered object is written out as YAML, its `${var}` references are replaced, and the
text is read back, so `replicas: ${count}` becomes a number as it does in Flux. Forms:
`${var}` (undefined ⇒ empty, Flux's default), `${var:=default}` and `${var:-default}`,
`${var:offset}` / `${var:offset:length}`, `${var/old/new}` / `${var//old/new}`; `$${var}`
writes `${var}`; `$var` without braces is left alone. Objects labelled or annotated
`kustomize.toolkit.fluxcd.io/substitute: disabled` are not touched. Nothing happens unless
at least one variable is given (Flux's rule). Pure. Called by `reconcile.steps.render`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import yaml

from conveyor.reconcile.errors import RenderError
from conveyor.targets.base import Manifest, ObjectRef

DISABLE = "kustomize.toolkit.fluxcd.io/substitute"
NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*):[=-](.*)$", re.S)
_SLICE = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*):(-?\d+)(?::(\d+))?$")
_REPLACE = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*)(//?)([^/]*)/(.*)$", re.S)


def substitute(manifests: Sequence[Manifest], variables: Mapping[str, str]) -> list[Manifest]:
    """The manifests with `${…}` references replaced; RenderError on a malformed one."""
    if not variables:
        return list(manifests)
    return [_one(obj, variables) for obj in manifests]


def _one(obj: Manifest, variables: Mapping[str, str]) -> Manifest:
    meta = obj.get("metadata") or {}
    marks = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    if str(marks.get(DISABLE, "")).lower() == "disabled":
        return obj
    text = yaml.safe_dump(obj, sort_keys=False)
    try:
        result = _REFERENCE.sub(lambda m: _expand(m, variables), text)
        data = yaml.safe_load(result)
    except (ValueError, yaml.YAMLError) as exc:
        raise RenderError(
            f"post-build substitution failed in {ObjectRef.of(obj)}: {exc}",
            hint="check the ${var} references (Flux's envsubst forms)",
        ) from exc
    if not isinstance(data, dict):
        raise RenderError(
            f"post-build substitution turned {ObjectRef.of(obj)} into a non-object",
            hint="quote the values you substitute",
        )
    return data


def _expand(match: re.Match[str], variables: Mapping[str, str]) -> str:
    if match.group(0) == "$${":
        return "${"
    body = match.group(1)
    if NAME.match(body):
        return variables.get(body, "")
    if found := _DEFAULT.match(body):
        name, default = found.groups()
        return variables.get(name) or default
    if found := _SLICE.match(body):
        name, offset, length = found.groups()
        value = variables.get(name, "")
        start = int(offset)
        return value[start : start + int(length)] if length else value[start:]
    if found := _REPLACE.match(body):
        name, slashes, old, new = found.groups()
        value = variables.get(name, "")
        return value.replace(old, new) if slashes == "//" else value.replace(old, new, 1)
    raise ValueError(f"bad substitution ${{{body}}}")
