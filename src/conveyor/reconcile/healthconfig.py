"""Custom health checks in `conveyor.yaml`, written as Argo CD users write them in the
`data:` of their argocd-cm ConfigMap (docs/operator-manual/health.md), at the top level:

```yaml
resource.customizations.health.cert-manager.io_Certificate: |   # <group>_<Kind>
  hs = {status = "Progressing"} ... return hs
resource.customizations.health.ConfigMap: |                     # core group: <Kind>
  ...
resource.customizations.useOpenLibs.cert-manager.io_Certificate: true
resource.customizations: |        # the nested form: YAML text as in argocd-cm, or a mapping
  "*.crossplane.io/*":            # wildcards (shell-style) only here, as in Argo CD
    health.lua: |
      ...
```
A split key wins over the nested form for the same group/kind (Argo CD reads it last).
`useOpenLibs` is accepted and changes nothing: every script gets the same safe libraries
(see `health.sandbox`). Other customization types (`ignoreDifferences`, `actions`,
`knownTypeFields`, `ignoreResourceUpdates`) are refused, not ignored. Every script is
compiled at load: a syntax error names the file, the line of the key and the key.
Called by `reconcile.config.load_config`.
"""

from __future__ import annotations

from typing import Any

import yaml

from conveyor.core.location import Location
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.health import HealthScript
from conveyor.reconcile.health.lua import LuaHealth
from conveyor.reconcile.yamlnodes import Document, load_documents

PREFIX = "resource.customizations"
_NESTED_FIELDS = ("health.lua", "health.lua.useOpenLibs")
_HINT = "write it as Argo CD's argocd-cm does, e.g. resource.customizations.health.<group>_<Kind>"


def health_scripts(doc: Document) -> tuple[HealthScript, ...]:
    """Every custom health script the config defines, checked to compile."""
    data = doc.data if isinstance(doc.data, dict) else {}
    scripts = {s.pattern: (s, where) for s, where in _nested(doc, data.get(PREFIX))}
    for key, value in data.items():
        if isinstance(key, str) and key.startswith(PREFIX + "."):
            script = _split(doc, key, value)
            if script is not None:
                scripts[script.pattern] = (script, doc.where(key))
    lua = LuaHealth()
    for script, where in scripts.values():
        error = lua.syntax_error(script.source, script.pattern)
        if error:
            message = f"{script.key}: Lua syntax error: {error}"
            raise ApplicationInvalid(message, location=where, hint="fix the script")
    return tuple(script for script, _ in scripts.values())


def _split(doc: Document, key: str, value: Any) -> HealthScript | None:
    """`resource.customizations.<type>.<group_kind>`: a health script, or useOpenLibs."""
    parts = key.split(".", 3)
    if len(parts) < 4 or not parts[3]:
        raise _invalid(f"{key}: expected {PREFIX}.<type>.<group>_<Kind>", key, doc)
    kind, pattern = parts[2], _pattern(parts[3], key, doc)
    if kind == "useOpenLibs":
        _boolean(value, key, doc)
        return None
    if kind != "health":
        raise _invalid(
            f"{key}: Conveyor reads only health customizations, not {kind!r}",
            key,
            doc,
            hint="remove the key; only resource.customizations.health.* is supported",
        )
    return HealthScript(pattern=pattern, source=_text(value, key, doc), key=key)


def _pattern(group_kind: str, key: str, doc: Document) -> str:
    """Argo CD's `<group>_<Kind>` (or `<Kind>`, or `all`) as a `group/Kind` key."""
    if group_kind == "all":
        return "*/*"
    parts = group_kind.split("_")
    if len(parts) == 1:
        return group_kind
    if len(parts) == 2 and parts[1]:
        return f"{parts[0]}/{parts[1]}" if parts[0] else parts[1]
    raise _invalid(f"{key}: {group_kind!r} is not <group>_<Kind> or <Kind>", key, doc)


def _nested(doc: Document, value: Any) -> list[tuple[HealthScript, Location]]:
    """The `resource.customizations` block: a mapping, or YAML text holding one."""
    if value is None:
        return []
    inner = doc
    if isinstance(value, str):
        inner = _parse_block(doc, value)
        value = inner.data or {}
    if not isinstance(value, dict):
        raise _invalid(f"{PREFIX} must map group/Kind to customizations", PREFIX, doc)
    scripts = []
    for resource, fields in value.items():
        key = f"{PREFIX}: {resource}"
        path = (resource,) if inner is not doc else (PREFIX, resource)
        if not isinstance(fields, dict):
            raise _invalid(f"{key}: expected a mapping with health.lua", key, inner, path)
        for name in fields:
            if name not in _NESTED_FIELDS:
                message = f"{key}: Conveyor reads only health.lua here, not {name!r}"
                raise _invalid(message, key, inner, (*path, name), hint="remove the field")
        if "health.lua.useOpenLibs" in fields:
            _boolean(fields["health.lua.useOpenLibs"], key, inner, path)
        if "health.lua" in fields:
            source = _text(fields["health.lua"], key, inner, path)
            script = HealthScript(pattern=str(resource), source=source, key=key)
            scripts.append((script, inner.where(*path, "health.lua")))
    return scripts


def _parse_block(doc: Document, text: str) -> Document:
    """The YAML text of `resource.customizations`, with lines counted in the config file
    (the block starts on the line after its key)."""
    outer = doc.where(PREFIX).line
    try:
        docs = list(load_documents(text, doc.file))
    except yaml.YAMLError as exc:
        raise _invalid(f"{PREFIX}: not valid YAML: {exc}", PREFIX, doc) from exc
    if not docs:
        return Document(data={}, file=doc.file)
    marks = {path: (line + outer, col) for path, (line, col) in docs[0].marks.items()}
    return Document(data=docs[0].data, file=doc.file, marks=marks)


def _text(value: Any, key: str, doc: Document, path: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{key}: expected the Lua script as text", key, doc, path)
    return value


def _boolean(value: Any, key: str, doc: Document, path: tuple[str, ...] | None = None) -> None:
    if not isinstance(value, bool) and str(value).lower() not in ("true", "false"):
        raise _invalid(f"{key}: useOpenLibs must be true or false", key, doc, path)


def _invalid(
    message: str,
    key: str,
    doc: Document,
    path: tuple[str, ...] | None = None,
    *,
    hint: str = _HINT,
) -> ApplicationInvalid:
    where: Location = doc.where(*(path or (key,)))
    return ApplicationInvalid(message, location=where, hint=hint)
