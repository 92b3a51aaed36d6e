"""`strategy.matrix` legs, with GitHub's include/exclude rules, names and `--matrix` filters.

Called by the run layer after it evaluated the matrix's expressions (a `fromJSON(...)` matrix
arrives here as the evaluated mapping). The rules, from docs.github.com "Using a matrix":

1. every key other than `include`/`exclude` is a vector; their cross product, first key
   outermost, gives the ORIGINAL combinations;
2. an `exclude` entry removes every combination it matches partially (all its keys equal);
3. each `include` entry, in order, is merged into every original combination where none of
   its keys would overwrite an ORIGINAL vector value (values added by earlier includes may be
   overwritten); if it fits no original combination it becomes a new combination (new
   combinations never receive later includes);
4. at most 256 legs.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from conveyor.workflow.expr.values import Value
from conveyor.workflow.plan.errors import PlanError

MAX_LEGS = 256
Combo = dict[str, Value]
C = TypeVar("C", bound=Mapping[str, Any])


def expand(matrix: object, *, where: str = "", job_id: str = "") -> list[Combo]:
    """All legs of `matrix` in GitHub's order: originals, then include-only combinations.

    `matrix` is the evaluated `strategy.matrix` (`Value`/`Raw`); `where` prefixes errors
    (e.g. `ci.yml: jobs.build.strategy.matrix`), `job_id` names the job in the 256-leg error.
    """
    if matrix is None:
        return [{}]
    if not isinstance(matrix, dict):
        raise _error(where, f"the matrix must be a mapping, not {_kind(matrix)}")
    vectors = {
        key: _vector(key, value, where)
        for key, value in matrix.items()
        if key not in ("include", "exclude")
    }
    excludes = _entries(matrix.get("exclude"), "exclude", where)
    includes = _entries(matrix.get("include"), "include", where)
    for entry in excludes:
        for key in entry:
            if key not in vectors:
                raise _error(
                    where, f"Matrix exclude key '{key}' does not match any key within the matrix"
                )
    originals = (
        [dict(zip(vectors, values, strict=True)) for values in itertools.product(*vectors.values())]
        if vectors
        else []
    )
    originals = [c for c in originals if not any(_partial(entry, c) for entry in excludes)]
    extras = _apply_includes(originals, includes, frozenset(vectors))
    legs = originals + extras
    if len(legs) > MAX_LEGS:
        who = f" for job '{job_id}'" if job_id else ""
        raise _error(
            where, f"Strategy expansion exceeded {MAX_LEGS} results{who} ({len(legs)} legs)"
        )
    return legs


def _apply_includes(
    originals: list[Combo], includes: Sequence[Combo], keys: frozenset[str]
) -> list[Combo]:
    extras: list[Combo] = []
    for entry in includes:
        fits = [
            combo
            for combo in originals
            if all(k not in keys or same(combo[k], v) for k, v in entry.items())
        ]
        for combo in fits:
            combo.update(entry)
        if not fits:
            extras.append(dict(entry))
    return extras


def display_suffix(combo: Mapping[str, object]) -> str:
    """`(1, a)`: the leg's values in key order, nested objects/arrays flattened, as GitHub."""
    if not combo:
        return ""
    return "(" + ", ".join(_flatten(list(combo.values()))) + ")"


def leg_name(job_name: str, combo: Mapping[str, object]) -> str:
    """`build (1, a)` for a matrix leg; the bare name when the job has no matrix."""
    suffix = display_suffix(combo)
    return f"{job_name} {suffix}" if suffix else job_name


def filter_legs(combos: Sequence[C], filters: Sequence[tuple[str, str]]) -> list[C]:
    """`--matrix K:V`, with act's semantics (runner.selectMatrixes): a leg is dropped when it
    has key K and its value (rendered as text) is none of the V given for K; values of one
    key are OR'ed, keys are AND'ed, and a leg without K is kept."""
    wanted: dict[str, set[str]] = {}
    for key, value in filters:
        wanted.setdefault(key, set()).add(value)
    return [
        c
        for c in combos
        if all(key not in c or scalar_text(c[key]) in values for key, values in wanted.items())
    ]


def same(left: object, right: object) -> bool:
    """Deep equality that keeps `true` apart from `1` (YAML types, as GitHub compares them)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return False
    return left == right  # None, strings, numbers (1 == 1.0 as in GitHub)


def _partial(entry: Combo, combo: Combo) -> bool:
    return all(key in combo and same(combo[key], value) for key, value in entry.items())


def _vector(key: str, value: object, where: str) -> list[Value]:
    if not isinstance(value, list):
        raise _error(where, f"Matrix vector '{key}' must be a list, not {_kind(value)}")
    if not value:
        raise _error(where, f"Matrix vector '{key}' does not contain any values")
    return value


def _entries(value: object, key: str, where: str) -> list[Combo]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _error(where, f"matrix '{key}' must be a list of mappings")
    return [item for item in value if isinstance(item, dict)]


def _flatten(values: Sequence[object]) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, dict):
            out.extend(_flatten(list(value.values())))
        elif isinstance(value, list):
            out.extend(_flatten(value))
        else:
            out.append(scalar_text(value))
    return out


def scalar_text(value: object) -> str:
    """A matrix value as text: what `--matrix K:V` and a CI unit's matrix filter compare."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            str(int(value)) if value.is_integer() and abs(value) < 1e15 else format(value, ".15g")
        )
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _error(where: str, message: str) -> PlanError:
    return PlanError(f"{where}: {message}" if where else message)
