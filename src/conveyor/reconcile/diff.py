"""Desired vs live, normalised so that only real differences show. Pure (no I/O).

Normalisation, in order, on copies of both sides:
1. drop `status` and `metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]`;
2. the target's declared rules (`Target.normalization`): server-populated fields go from
   both sides; defaulted fields go wherever they hold the default value, so a manifest
   that omits `replicas` matches a live object defaulted to 1, while a live 3 still shows;
3. the app's `spec.ignoreDifferences` (JSON pointers and jq-style paths, per group/kind,
   optionally per name/namespace; `managedFieldsManagers`: the fields those managers own
   per the live object's `metadata.managedFields`, out of both sides: `managedfields`);
4. Secrets: `stringData` folded into base64 `data` (as the API server does);
5. a live object that carries `kubectl.kubernetes.io/last-applied-configuration` is
   compared three-way, as Argo CD does: a live field that neither the desired object nor
   the last applied one has was set by someone else (a controller, a defaulting webhook)
   and is not a difference. `Replace=true` is how Git takes such fields back.

Secret values never leave this module in clear: `redact` replaces every value of
`data`/`stringData` with `++++++++` (marking values that differ between the sides), and
`render_diff` only ever prints redacted objects. Called by `reconcile.plan` (sync status),
`reconcile.drift` and `conveyor app diff`.
"""

from __future__ import annotations

import base64
import difflib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import yaml

from conveyor.reconcile.managedfields import owned_by, remove_owned
from conveyor.reconcile.paths import remove_jq, remove_pointer
from conveyor.targets.base import Manifest, NormalizationRule, ObjectRef

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MASK = "++++++++"
_Action = Callable[[Manifest], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class IgnoreRule:
    """One entry of `spec.ignoreDifferences`."""

    kind: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    jq_paths: tuple[str, ...] = ()
    # Fields owned by these field managers, per the live object's managedFields (issue 16);
    # live objects without managedFields (memory, Podman targets) lose nothing.
    managers: tuple[str, ...] = ()

    def matches(self, ref: ObjectRef) -> bool:
        return (
            self.kind in ("*", ref.kind)
            and self.group in ("*", ref.group)
            and self.name in (None, ref.name)
            and self.namespace in (None, ref.namespace)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Normalizer:
    """The rules one app's diffs use: its target's declarations plus its ignores."""

    target_rules: tuple[NormalizationRule, ...] = ()
    ignores: tuple[IgnoreRule, ...] = ()
    _per_kind: dict[ObjectRef, tuple[_Action, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def normalize(self, obj: Manifest, ref: ObjectRef) -> Manifest:
        out: Manifest = clone(obj)
        out.pop("status", None)
        meta = out.get("metadata")
        if isinstance(meta, dict):
            _drop_empty(meta, _LAST_APPLIED)
        for action in self._actions(ref):
            action(out)
        if ref.kind == "Secret" and ref.group == "":
            _fold_string_data(out)
        return out

    def _actions(self, ref: ObjectRef) -> tuple[_Action, ...]:
        """The removals that apply to `ref`, worked out once per kind (and name, since
        ignoreDifferences may name objects): normalisation runs on every compared object."""
        named = any(i.name is not None or i.namespace is not None for i in self.ignores)
        key = ref if named else ObjectRef(group=ref.group, kind=ref.kind, namespace="", name="")
        cached = self._per_kind.get(key)
        if cached is None:
            actions: list[_Action] = []
            for rule in self.target_rules:
                if rule.matches(ref):
                    for pointer in rule.pointers:
                        actions.append(
                            partial(remove_pointer, pointer=pointer, equal_to=rule.default)
                            if rule.default is not None
                            else partial(remove_pointer, pointer=pointer)
                        )
            for ignore in self.ignores:
                if ignore.matches(ref):
                    actions += [partial(remove_pointer, pointer=p) for p in ignore.json_pointers]
                    actions += [partial(remove_jq, expression=e) for e in ignore.jq_paths]
            cached = self._per_kind[key] = tuple(actions)
        return cached

    def managers(self, ref: ObjectRef) -> frozenset[str]:
        """The field managers whose fields the app ignores on `ref`."""
        return frozenset(m for i in self.ignores if i.matches(ref) for m in i.managers)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectDiff:
    ref: ObjectRef
    desired: Manifest | None  # normalised
    live: Manifest | None  # normalised

    @property
    def changed(self) -> bool:
        return self.desired != self.live


def compare(
    ref: ObjectRef, desired: Manifest | None, live: Manifest | None, normalizer: Normalizer
) -> ObjectDiff:
    """Normalise both sides of one object; `changed` tells whether they differ."""
    want = None if desired is None else normalizer.normalize(desired, ref)
    have = None if live is None else normalizer.normalize(live, ref)
    managers = normalizer.managers(ref)
    if managers and live is not None:
        for fields in owned_by(live, managers):
            remove_owned(want, fields)
            remove_owned(have, fields)
    last = _last_applied(live)
    if want is not None and have is not None and last is not None:
        have = _without_others(have, want, last)
    return ObjectDiff(ref=ref, desired=want, live=have)


def _last_applied(live: Manifest | None) -> Any:
    notes = ((live or {}).get("metadata") or {}).get("annotations") or {}
    text = notes.get(_LAST_APPLIED) if isinstance(notes, dict) else None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _without_others(live: Any, desired: Any, last: Any) -> Any:
    """`live` minus the mapping keys neither `desired` nor `last` has (three-way diff)."""
    if not isinstance(live, dict) or not isinstance(desired, dict):
        return live
    previous = last if isinstance(last, dict) else {}
    return {
        key: _without_others(value, desired.get(key), previous.get(key))
        for key, value in live.items()
        if key in desired or key in previous
    }


def redact(
    obj: Manifest | None, other: Manifest | None = None, *, side: str = "desired"
) -> Manifest | None:
    """A copy with Secret values masked; a value that differs from `other`'s is shown as
    `++++++++ (<side> value)` so a diff still says which keys changed, never how."""
    if obj is None or obj.get("kind") != "Secret":
        return obj
    out: Manifest = clone(obj)
    theirs = (other or {}).get("data") or {}
    for key in ("data", "stringData"):
        values = out.get(key)
        if isinstance(values, dict):
            out[key] = {
                k: MASK if theirs.get(k) == v else f"{MASK} ({side} value)"
                for k, v in values.items()
            }
    return out


def render_diff(diff: ObjectDiff) -> list[str]:
    """Unified diff lines (without trailing newlines) of one object, Secrets redacted."""
    desired = redact(diff.desired, diff.live, side="desired")
    live = redact(diff.live, diff.desired, side="live")
    before = _dump(live)
    after = _dump(desired)
    return list(
        difflib.unified_diff(
            before, after, fromfile=f"live/{diff.ref}", tofile=f"desired/{diff.ref}", lineterm=""
        )
    )


def changed_refs(diffs: Sequence[ObjectDiff]) -> tuple[ObjectRef, ...]:
    return tuple(d.ref for d in diffs if d.changed)


def clone(value: Any) -> Any:
    """A deep copy of plain YAML/JSON data; faster than `copy.deepcopy` for this shape."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def _dump(obj: Manifest | None) -> list[str]:
    if obj is None:
        return []
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines()


def _drop_empty(meta: dict[str, Any], annotation: str) -> None:
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(annotation, None)
    for key in ("annotations", "labels"):
        if key in meta and not meta[key]:
            del meta[key]


def _fold_string_data(secret: Manifest) -> None:
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict):
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
