"""Mutations of a workflow's YAML text: what the tree cannot express.

Each takes the random source and a valid workflow's text and returns the edited text, or
None when the text has no place for the edit. Line edits look for `key: value` lines (never
list items, so indentation stays meaningful); the rest wrap the text (directives, BOM,
documents) or replace it with a small fixed workflow around the edit (deep nesting, long
keys, block scalars), because where those sit matters more than the rest of the file.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable

import yaml

TextMutation = Callable[[random.Random, str], str | None]

_SCALAR_LINE = re.compile(r"^( *)([A-Za-z_][\w-]*): (?![|>&*!{\[])(\S.*)$")
_BOOL_LINE = re.compile(r"^( *[\w-]+): (true|false)$")
_NUMBER_LINE = re.compile(r"^( *[\w-]+): (\d+)$")
_INDENTED = re.compile(r"^( {2,})(\S.*)$")

FIXED = """on: push
jobs:
  build:
    runs-on: ubuntu-latest
{extra}    steps:
      - run: echo hi
"""


def _lines_matching(text: str, pattern: re.Pattern[str]) -> list[int]:
    return [n for n, line in enumerate(text.split("\n")) if pattern.match(line)]


def _edit_line(
    pattern: re.Pattern[str], change: Callable[[random.Random, re.Match[str]], str]
) -> TextMutation:
    def mutate(rng: random.Random, text: str) -> str | None:
        places = _lines_matching(text, pattern)
        if not places:
            return None
        lines = text.split("\n")
        n = rng.choice(places)
        match = pattern.match(lines[n])
        assert match is not None
        lines[n] = change(rng, match)
        return "\n".join(lines)

    return mutate


def _duplicate_key(rng: random.Random, text: str) -> str | None:
    places = _lines_matching(text, _SCALAR_LINE)
    if not places:
        return None
    lines = text.split("\n")
    n = rng.choice(places)
    lines.insert(n + 1, lines[n])
    return "\n".join(lines)


def _anchor_alias(rng: random.Random, text: str) -> str | None:
    places = _lines_matching(text, _SCALAR_LINE)
    if len(places) < 2:
        return None
    first, second = sorted(rng.sample(places, 2))
    lines = text.split("\n")
    m1, m2 = _SCALAR_LINE.match(lines[first]), _SCALAR_LINE.match(lines[second])
    assert m1 is not None and m2 is not None
    lines[first] = f"{m1.group(1)}{m1.group(2)}: &anchor {m1.group(3)}"
    lines[second] = f"{m2.group(1)}{m2.group(2)}: *anchor"
    return "\n".join(lines)


def _anchor_only(rng: random.Random, text: str) -> str | None:
    return _edit_line(_SCALAR_LINE, lambda r, m: f"{m.group(1)}{m.group(2)}: &a {m.group(3)}")(
        rng, text
    )


def _tab_indent(rng: random.Random, text: str) -> str | None:
    return _edit_line(_INDENTED, lambda r, m: "\t" + m.group(2))(rng, text)


def _prefix(head: str) -> TextMutation:
    return lambda rng, text: head + text


def _suffix(tail: str) -> TextMutation:
    return lambda rng, text: text + tail


def _whole(new: str) -> TextMutation:
    return lambda rng, text: new


def _fixed(extra: str) -> TextMutation:
    return lambda rng, text: FIXED.format(extra=extra)


def _flow_json(rng: random.Random, text: str) -> str | None:
    return json.dumps(yaml.safe_load(text), indent=rng.choice([None, 2])) + "\n"


def _deep_flow(levels: int) -> TextMutation:
    value = "[" * levels + "1" + "]" * levels
    return _fixed(f"    strategy:\n      matrix:\n        include:\n          - v: {value}\n")


def _deep_block(levels: int) -> TextMutation:
    body = "".join(f"{' ' * (12 + 2 * n)}k{n}:\n" for n in range(levels))
    body += f"{' ' * (12 + 2 * levels)}leaf: 1\n"
    return _fixed("    strategy:\n      matrix:\n        include:\n          - v:\n" + body)


def _deep_alias(levels: int) -> TextMutation:
    """A matrix vector nested `levels` deep (49 at most for 44), aliased in an `include` item
    two levels deeper: GitHub counts aliased content where the alias stands."""
    value = "[" * levels + "1" + "]" * levels
    return _fixed(
        f"    strategy:\n      matrix:\n        m: &deep {value}\n        include:\n"
        "          - v: *deep\n"
    )


def _many_scalars(count: int) -> TextMutation:
    """A list of `count` one-letter strings: 52 bytes each as GitHub's reader counts them."""
    value = "[" + ",".join(["x"] * count) + "]"
    return _fixed(f"    strategy:\n      matrix:\n        include:\n          - v: {value}\n")


def _big_comment(size: int) -> TextMutation:
    return lambda rng, text: FIXED.format(extra="") + "#" * size + "\n"


def _block_scalar(style: str) -> TextMutation:
    extra = (
        "    env:\n"
        f"      A: {style}\n"
        "        first line\n"
        "        second ${{ secretz.x }}\n"
        "        third\n"
    )
    return _fixed(extra)


TEXT_MUTATIONS: dict[str, TextMutation] = {
    "duplicate-key": _duplicate_key,
    "anchor-alias": _anchor_alias,
    "anchor-unused": _anchor_only,
    "merge-key": _fixed("    env: &e\n      A: '1'\n    defaults:\n      <<: *e\n"),
    "tag-str": _edit_line(
        _SCALAR_LINE, lambda r, m: f"{m.group(1)}{m.group(2)}: !!str {m.group(3)}"
    ),
    "tag-custom": _edit_line(
        _SCALAR_LINE, lambda r, m: f"{m.group(1)}{m.group(2)}: !x {m.group(3)}"
    ),
    "tag-int": _fixed("    timeout-minutes: !!int 5\n"),
    "tag-float": _fixed("    timeout-minutes: !!float 5\n"),
    "tag-bool-on-string": _fixed("    name: !!bool true\n"),
    "tag-binary": _fixed("    name: !!binary aGk=\n"),
    "tag-set": _fixed("    env: !!set {A: null}\n"),
    "tag-map": _fixed("    env: !!map {A: b}\n"),
    "tag-seq-on-mapping": _fixed("    env: !!seq\n      A: b\n"),
    "tag-verbatim": _fixed("    name: !<tag:yaml.org,2002:str> b\n"),
    "tab-indent": _tab_indent,
    "directive-yaml-1-2": _prefix("%YAML 1.2\n---\n"),
    "directive-yaml-1-1": _prefix("%YAML 1.1\n---\n"),
    "directive-yaml-2-0": _prefix("%YAML 2.0\n---\n"),
    "directive-tag": _prefix("%TAG !e! tag:example.com,2000:\n---\n"),
    "directive-unknown": _prefix("%FOO bar\n---\n"),
    "directive-without-document": _prefix("%YAML 1.2\n"),
    "document-start": _prefix("---\n"),
    "document-end": _suffix("...\n"),
    "two-documents": _suffix("---\non: push\n"),
    "empty-second-document": _suffix("---\n"),
    "bom": _prefix("\ufeff"),
    "crlf": lambda rng, text: text.replace("\n", "\r\n"),
    "comment-only": _whole("# nothing here\n"),
    "empty": _whole(""),
    "only-document-marker": _whole("---\n"),
    "root-list": _whole("- on\n- jobs\n"),
    "root-scalar": _whole("hello\n"),
    "root-null": _whole("~\n"),
    "flow-json": _flow_json,
    "yaml11-yes": _edit_line(
        _BOOL_LINE, lambda r, m: f"{m.group(1)}: {r.choice(['yes', 'on', 'y'])}"
    ),
    "yaml-capital-bool": _edit_line(_BOOL_LINE, lambda r, m: f"{m.group(1)}: {m.group(2).title()}"),
    "number-hex": _edit_line(_NUMBER_LINE, lambda r, m: f"{m.group(1)}: 0x1F"),
    "number-octal": _edit_line(_NUMBER_LINE, lambda r, m: f"{m.group(1)}: 0o17"),
    "number-underscore": _edit_line(_NUMBER_LINE, lambda r, m: f"{m.group(1)}: 1_000"),
    "number-inf": _edit_line(_NUMBER_LINE, lambda r, m: f"{m.group(1)}: .inf"),
    "number-float": _edit_line(_NUMBER_LINE, lambda r, m: f"{m.group(1)}: 2.5"),
    "null-tilde": _edit_line(_SCALAR_LINE, lambda r, m: f"{m.group(1)}{m.group(2)}: ~"),
    "key-true": _suffix("true: 1\n"),
    "key-null": _suffix("~: 1\n"),
    "key-number": _suffix("3: 1\n"),
    "key-complex": _suffix("? [a, b]\n: c\n"),
    "key-quoted-on": lambda rng, text: text.replace("on:", '"on":', 1),
    "key-long-implicit": _fixed(f"    env:\n      {'K' * 1100}: v\n"),
    "key-long-explicit": _fixed(f"    env:\n      ? {'K' * 1100}\n      : v\n"),
    "deep-flow-100": _deep_flow(100),
    "deep-flow-5000": _deep_flow(5000),
    "deep-block-200": _deep_block(200),
    "deep-flow-43": _deep_flow(43),  # depth 50 (the matrix item is at 7): GitHub's limit
    "deep-flow-44": _deep_flow(44),  # depth 51
    "deep-alias-44": _deep_alias(44),  # 49 at the anchor, 51 where the alias stands
    "result-over-10mib": _many_scalars(210_000),
    "file-over-1mib": _big_comment(1024 * 1024),
    "block-literal-expression": _block_scalar("|"),
    "block-folded-expression": _block_scalar(">-"),
    "plain-multiline-expression": _fixed(
        "    env:\n      A: first\n        second ${{ secretz.x }}\n"
    ),
    "double-quoted-multiline-expression": _fixed(
        '    env:\n      A: "first\n        second ${{ secretz.x }}"\n'
    ),
    "unclosed-quote": _fixed("    name: 'oops\n"),
    "bad-indent": _fixed("   name: x\n"),
    "control-character": _fixed("    name: a\x07b\n"),
    "nul-character": _fixed("    name: a\x00b\n"),
    "escaped-expression": _fixed('    name: "$${{ github.sha }}"\n'),
    "expression-in-key": _fixed("    env:\n      ${{ github.sha }}: v\n"),
}
