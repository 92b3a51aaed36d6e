"""ApplicationSet templates: parameters into strings, in Argo CD's two styles (issue 14).

* fasttemplate (the default): `{{path.basename}}` looks up a flat parameter name;
* Go templates (`goTemplate: true`): `{{ .path.basename }}`, `{{ index .path.segments 1 }}`
  and pipelines through a few functions (`lower`, `upper`, `title`, `trim`, `replace`,
  `default`, `quote`, `trunc`, `normalize`); control structures (`if`, `range`, …) are
  refused.

A reference to a parameter the generators did not produce is an error in both styles
(Argo CD leaves `{{x}}` in place, or prints `<no value>`, and the Application then fails
later or deploys the wrong thing). `render` walks a template's keys and string values.
Called by `appset_generators` (generated apps, and a matrix's templated child generator).
Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from conveyor.core.errors import UserError

_FAST = re.compile(r"\{\{(.*?)\}\}", re.S)
_GO = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
_CONTROL = frozenset(
    ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"]
)


class TemplateError(UserError):
    """A template refers to a missing parameter or uses something not supported; `at` is
    the key path of the string inside the rendered value."""

    at: tuple[str | int, ...] = ()


def render(value: Any, params: Mapping[str, Any], *, go: bool) -> Any:
    """`value` with every key and string rendered (lists and mappings walked); a failure
    is a `TemplateError` whose `at` says where in `value` it was."""
    return _render(value, params, go, ())


def _render(value: Any, params: Mapping[str, Any], go: bool, at: tuple[str | int, ...]) -> Any:
    if isinstance(value, dict):
        return {
            _render(k, params, go, (*at, k)): _render(v, params, go, (*at, k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_render(v, params, go, (*at, i)) for i, v in enumerate(value)]
    if isinstance(value, str) and "{{" in value:
        try:
            return render_go(value, params) if go else render_fast(value, params)
        except TemplateError as exc:
            exc.at = exc.at or at
            raise
    return value


def render_fast(text: str, params: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in params:
            raise TemplateError(
                f"{{{{{name}}}}} names no parameter of the generators",
                hint=_known(params),
            )
        return scalar_text(params[name])

    return _FAST.sub(one, text)


def render_go(text: str, params: Mapping[str, Any]) -> str:
    out: list[str] = []
    last = 0
    for match in _GO.finditer(text):
        before = text[last : match.start()]
        out.append(before.rstrip() if match.group(1) else before)
        out.append(scalar_text(_pipeline(match.group(2).strip(), params)))
        last = match.end()
        if match.group(3):
            rest = text[last:]
            last += len(rest) - len(rest.lstrip())
    out.append(text[last:])
    return "".join(out)


def scalar_text(value: Any) -> str:
    """A parameter as Go's `%v` prints it (true, 3, [a b])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return "[" + " ".join(scalar_text(v) for v in value) + "]"
    return str(value)


def _pipeline(expression: str, params: Mapping[str, Any]) -> Any:
    commands = [c.strip() for c in _split_pipes(expression)]
    value: Any = _command(commands[0], params, piped=None, first=True)
    for command in commands[1:]:
        value = _command(command, params, piped=value, first=False)
    return value


def _split_pipes(expression: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in expression:
        if char == '"':
            quoted = not quoted
        if char == "|" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _command(command: str, params: Mapping[str, Any], *, piped: Any, first: bool) -> Any:
    try:
        words = shlex.split(command, posix=False)
    except ValueError as exc:
        raise TemplateError(f"{{{{ {command} }}}} does not parse: {exc}") from exc
    if not words:
        raise TemplateError("an empty {{ }} action", hint="write e.g. {{ .path.basename }}")
    head, args = words[0], [_argument(w, params) for w in words[1:]]
    if first and not args and head not in FUNCTIONS:
        return _argument(head, params)
    if head in _CONTROL:
        raise TemplateError(
            f"{{{{ {head} }}}} is not supported in Conveyor's ApplicationSet templates",
            hint="use field references and functions only, e.g. {{ .path.basename | lower }}",
        )
    function = FUNCTIONS.get(head)
    if function is None:
        raise TemplateError(
            f"function {head!r} is not available", hint="known: " + ", ".join(sorted(FUNCTIONS))
        )
    try:
        return function(*args) if piped is None and first else function(*args, piped)
    except TypeError as exc:
        raise TemplateError(f"{{{{ {command} }}}}: wrong arguments for {head}: {exc}") from exc


def _argument(word: str, params: Mapping[str, Any]) -> Any:
    if word.startswith('"') and word.endswith('"') and len(word) >= 2:
        return word[1:-1].replace('\\"', '"')
    if word.startswith("."):
        return lookup(word, params)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word in ("true", "false"):
        return word == "true"
    raise TemplateError(
        f"{word!r} is neither a field reference (.name) nor a literal",
        hint="parameters are read as {{ .name }} when goTemplate is true",
    )


def lookup(reference: str, params: Mapping[str, Any]) -> Any:
    """`.path.basename` in the nested parameters; a missing key is an error."""
    value: Any = params
    walked = ""
    for part in reference.strip(".").split("."):
        walked += "." + part
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(
                f"{{{{ {reference} }}}}: {walked} is not a parameter of the generators",
                hint=_known(params),
            )
        value = value[part]
    return value


def normalize(text: Any) -> str:
    """Argo CD's `normalize`/`basenameNormalized`: a DNS-safe lower-case name."""
    name = re.sub(r"[^-a-z0-9.]", "-", str(text).lower())[:253]
    return name.strip("-.")


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            raise TemplateError(f"index {key!r} is not in {scalar_text(value)}") from None
    return value


def _default(fallback: Any, value: Any = None) -> Any:
    return value if value not in (None, "", [], {}, 0, False) else fallback


def _trunc(length: int, value: Any) -> str:
    text = str(value)
    return text[:length] if length >= 0 else text[length:]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "index": _index,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "title": lambda s: str(s).title(),
    "trim": lambda s: str(s).strip(),
    "replace": lambda old, new, s: str(s).replace(old, new),
    "default": _default,
    "quote": lambda s: '"' + str(s).replace('"', '\\"') + '"',
    "trunc": _trunc,
    "normalize": normalize,
}


def _known(params: Mapping[str, Any]) -> str:
    nested = any(isinstance(v, Mapping) for v in params.values())
    names = sorted(_names(params, "") if nested else map(str, params))
    return "parameters: " + (", ".join(names[:24]) or "(none)")


def _names(params: Mapping[str, Any], prefix: str) -> list[str]:
    out = []
    for key, value in params.items():
        name = f"{prefix}.{key}"
        out.extend(_names(value, name) if isinstance(value, Mapping) else [name])
    return out
