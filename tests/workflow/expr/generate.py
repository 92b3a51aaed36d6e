"""Random expression trees for the property, fuzz and differential tests.

`random_node(rng)` builds a tree that parses (known functions, right arities, depth well
under 50) from pools of values chosen to exercise GitHub's coercions. `CONTEXTS` is the
context the trees' named values refer to. With `portable=True` the pools avoid the
spots where GitHub's TypeScript evaluator is known to differ from the runner (see
`test_differential.KNOWN_TS_BUGS`), so any other disagreement is a real finding.
"""

from __future__ import annotations

import math
import random
from typing import Any

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.parser import parse

CONTEXTS: dict[str, Any] = {
    "github": {
        "ref": "refs/heads/main",
        "event_name": "push",
        "event": {
            "commits": [{"message": "fix: a", "id": 1}, {"message": "Feat: B", "id": 2}],
            "number": 5,
            "flag": True,
            "nothing": None,
            "empty": "",
            "labels": ["a", "B", "c"],
        },
    },
    "env": {"N": "10", "HEX": "0x1f", "WS": " 7 ", "EMPTY": "", "WORD": "Main"},
    "matrix": {"os": "ubuntu", "n": 3, "list": [1, 2, 3], "nested": {"a": {"b": 1}}},
}
NUMBERS = [0.0, 1.0, -1.0, 1.5, 0.5, 2.0, 3.0, 10.0, 16.0, 255.0, 1000.0]
STRINGS = [
    "",
    "a",
    "A",
    "abc",
    "ABC",
    "10",
    " 10 ",
    "0x10",
    "1e3",
    "0o17",
    "true",
    "false",
    "null",
    "it's",
    "refs/heads/main",
    "REFS/HEADS/MAIN",
    "fix",
    "Main",
    "[1,2]",
    "{}",
    "x y",
    "7",
]
PROPERTIES = [
    "ref",
    "REF",
    "event",
    "commits",
    "message",
    "number",
    "flag",
    "nothing",
    "empty",
    "labels",
    "N",
    "hex",
    "ws",
    "EMPTY",
    "word",
    "os",
    "n",
    "list",
    "nested",
    "a",
    "b",
    "missing",
    "id",
    "event_name",
]
FORMATS = ["{0}", "{0}-{1}", "x{{0}}y {0}", "{1}{0}", "[{0}]", "plain", "{0}{0}", "}}{0}{{"]
JSONS = [
    "[1,2,3]",
    '{"a":1,"b":[true,null]}',
    '"s"',
    "true",
    "null",
    "12.5",
    "[]",
    "{}",
    '[{"k":"v"},{"k":"w"}]',
]
EXTRA_NUMBERS = [math.nan, math.inf, -math.inf, 1e20, 0.1, 123456789012345678.0]
EXTRA_STRINGS = ["0b11", "0X10", "a''b", "-0x10", "1_000", "\u0131", "Infinity", " NaN "]


def _leaf(rng: random.Random, portable: bool) -> ast.Node:
    choice = rng.randrange(6)
    if choice == 0:
        return ast.Literal(value=rng.choice([None, True, False]))
    if choice == 1:
        pool = NUMBERS if portable else NUMBERS + EXTRA_NUMBERS
        return ast.Literal(value=rng.choice(pool))
    if choice == 2:
        pool = STRINGS if portable else STRINGS + EXTRA_STRINGS
        return ast.Literal(value=rng.choice(pool))
    return _path(rng, portable)


REAL_PATHS = [
    "github.ref",
    "github.event.commits.*.message",
    "github.event.commits[0].id",
    "env.N",
    "env.HEX",
    "env.WS",
    "env.EMPTY",
    "matrix.n",
    "matrix.list",
    "matrix.list[1]",
    "github.event.labels",
    "github.event.flag",
    "github.event.nothing",
    "matrix.nested.*.b",
    "github.event.commits.*",
    "github.event.number",
    "GITHUB.EVENT_NAME",
    "matrix.OS",
]


def _path(rng: random.Random, portable: bool) -> ast.Node:
    if rng.random() < 0.6:
        node = parse(rng.choice(REAL_PATHS))
        assert node is not None
        return node
    node: ast.Node = ast.NamedValue(name=rng.choice(["github", "env", "matrix", "GitHub"]))
    for _ in range(rng.randrange(4)):
        step = rng.randrange(6)
        if step < 3:
            key: ast.Node = ast.Literal(value=rng.choice(PROPERTIES))
        elif step == 3:
            key = ast.Wildcard()
        else:
            key = ast.Literal(value=rng.choice([0.0, 1.0, 1.5, 2.0, -1.0, "0", "message"]))
        node = ast.Index(target=node, key=key)
    return node


def _call(rng: random.Random, level: int, portable: bool) -> ast.Node:
    def sub() -> ast.Node:
        return random_node(rng, level + 1, portable=portable)

    name = rng.choice(
        [
            "contains",
            "startsWith",
            "endsWith",
            "format",
            "join",
            "toJSON",
            "fromJSON",
            "case",
            "CONTAINS",
            "tojson",
        ]
    )
    lower = name.lower()
    if lower in ("contains", "startswith", "endswith"):
        args = (sub(), sub())
    elif lower == "format":
        pattern = rng.choice(FORMATS)
        args = (ast.Literal(value=pattern), *(sub() for _ in range(2 if "{1}" in pattern else 1)))
    elif lower == "join":
        args = (sub(),) if rng.random() < 0.5 else (sub(), sub())
    elif lower == "fromjson":
        args = (ast.Literal(value=rng.choice(JSONS)),)
    elif lower == "case":
        predicate = ast.Compare(op="==", left=sub(), right=sub())
        args = (predicate, sub(), sub())
    else:
        args = (sub(),)
    return ast.Call(name=name, args=args)


def random_node(rng: random.Random, level: int = 0, *, portable: bool = False) -> ast.Node:
    """A random, parseable expression tree."""
    if level >= 4 or rng.random() < 0.3:
        return _leaf(rng, portable)
    kind = rng.randrange(4)
    if kind == 0:
        return ast.Not(operand=random_node(rng, level + 1, portable=portable))
    if kind == 1:
        op = rng.choice(["==", "!=", "<", "<=", ">", ">="])
        left = random_node(rng, level + 1, portable=portable)
        return ast.Compare(op=op, left=left, right=random_node(rng, level + 1, portable=portable))
    if kind == 2:
        op = rng.choice(["&&", "||"])
        items: list[ast.Node] = []
        for _ in range(rng.randrange(2, 4)):
            item = random_node(rng, level + 1, portable=portable)
            same_op = isinstance(item, ast.Logical) and item.op == op
            items.extend(item.items if isinstance(item, ast.Logical) and same_op else (item,))
        return ast.Logical(op=op, items=tuple(items))
    return _call(rng, level, portable)
