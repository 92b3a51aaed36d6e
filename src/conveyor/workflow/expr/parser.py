"""Parse expression text into a tree (`ast.Node`), with GitHub's errors and limits.

An operator-precedence (shunting-yard) parser over the lexer's lazily checked tokens, so
errors come in the runner's order and deeply nested input cannot exhaust Python's stack.
Named values and functions are checked against what the caller allows: `named_values`
None allows any name; `functions` maps lower-case names to (min, max) arguments.
Called by `expression.compile_expression` and `check.check_allowed`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.errors import ErrorKind, ExpressionError, symbol_error
from conveyor.workflow.expr.lexer import MAX_LENGTH, Kind, Lexer, Token, utf16_index

MAX_DEPTH = 50
#: the built-in functions and their argument counts (lower-case names).
BUILTINS: dict[str, tuple[int, int]] = {
    "contains": (2, 2),
    "endswith": (2, 2),
    "format": (1, 255),
    "join": (1, 2),
    "startswith": (2, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
    "case": (3, 255),
}
_OPEN = (Kind.START_GROUP, Kind.START_INDEX, Kind.START_PARAMS)


class _Parser:
    def __init__(
        self,
        text: str,
        named_values: Collection[str] | None,
        functions: Mapping[str, tuple[int, int]],
    ) -> None:
        self.text = text
        self.names = None if named_values is None else {n.lower() for n in named_values}
        self.functions = functions
        self.operands: list[ast.Node] = []
        #: operator tokens, and for openers the operand-stack height when pushed.
        self.operators: list[tuple[Token, int]] = []
        self.calls: list[Token] = []  # function-name tokens of the calls being read
        self.previous: Token | None = None

    def error(self, description: str, token: Token) -> ExpressionError:
        index = utf16_index(self.text, token.index)
        return symbol_error(ErrorKind.PARSING, description, token.raw, index, self.text)

    def parse(self) -> ast.Node | None:
        lexer = Lexer(self.text)
        last: Token | None = None
        for token in lexer.run():
            self.push(token)
            self.previous = last = token
        if last is None:
            return None
        ends = (Kind.END_GROUP, Kind.END_INDEX, Kind.END_PARAMS)
        dangling = last.kind in (Kind.OPERATOR, Kind.DEREF, Kind.SEPARATOR, *_OPEN)
        if (dangling and last.kind not in ends) or lexer.unclosed:
            raise self.error("Unexpected end of expression", last)
        while self.operators:  # only operators remain: every opener was closed
            self.reduce_top()
        if len(self.operands) != 1:  # cannot happen after the lexer's checks
            raise self.error("Unexpected symbol", last)
        node = self.operands[0]
        if ast.depth(node) > MAX_DEPTH:
            raise ExpressionError(
                f"Exceeded max expression depth {MAX_DEPTH}", kind=ErrorKind.PARSING
            )
        return node

    def push(self, token: Token) -> None:
        kind = token.kind
        if kind in _OPEN:
            self.operators.append((token, len(self.operands)))
        elif kind is Kind.OPERATOR:
            if token.raw != "!":
                self.reduce_while(ast.PRECEDENCE[token.raw])
            self.operators.append((token, len(self.operands)))
        elif kind is Kind.SEPARATOR:
            self.reduce_to(Kind.START_PARAMS, pop=False)
        elif kind in (Kind.END_GROUP, Kind.END_INDEX, Kind.END_PARAMS):
            self.close(token)
        elif kind in (Kind.PROPERTY, Kind.WILDCARD) and self.previous_kind is Kind.DEREF:
            key: ast.Node = (
                ast.Wildcard() if kind is Kind.WILDCARD else ast.Literal(value=token.raw)
            )
            self.operands.append(ast.Index(target=self.operands.pop(), key=key))
        elif kind is not Kind.DEREF:
            self.operands.append(self.operand(token))

    @property
    def previous_kind(self) -> Kind | None:
        return self.previous.kind if self.previous else None

    def operand(self, token: Token) -> ast.Node:
        if token.kind is Kind.WILDCARD:
            return ast.Wildcard()
        if token.kind is Kind.NAMED:
            if self.names is not None and token.raw.lower() not in self.names:
                raise self.error("Unrecognized named-value", token)
            return ast.NamedValue(name=token.raw)
        if token.kind is Kind.FUNCTION:
            if token.raw.lower() not in self.functions:
                raise self.error("Unrecognized function", token)
            self.calls.append(token)
            return ast.Call(name=token.raw, args=())
        return ast.Literal(value=token.value)  # type: ignore[arg-type]

    def reduce_while(self, precedence: int) -> None:
        while self.operators:
            top = self.operators[-1][0]
            if top.kind is not Kind.OPERATOR or ast.PRECEDENCE[top.raw] < precedence:
                return
            self.reduce_top()

    def reduce_to(self, opener: Kind | None, *, pop: bool = True) -> tuple[Token | None, int]:
        """Reduce operators down to the innermost opener (popped if `pop`): (opener, height).

        `opener` documents what the lexer guarantees is there; None at the end of input.
        """
        while self.operators:
            top, height = self.operators[-1]
            if top.kind is Kind.OPERATOR:
                self.reduce_top()
                continue
            if pop:
                self.operators.pop()
            return top, height
        return None, 0

    def reduce_top(self) -> None:
        token = self.operators.pop()[0]
        if token.raw == "!":
            self.operands.append(ast.Not(operand=self.operands.pop()))
            return
        right, left = self.operands.pop(), self.operands.pop()
        if token.raw in ("&&", "||"):
            items: list[ast.Node] = []
            for side in (left, right):
                flat = isinstance(side, ast.Logical) and side.op == token.raw
                items.extend(side.items if isinstance(side, ast.Logical) and flat else (side,))
            self.operands.append(ast.Logical(op=token.raw, items=tuple(items)))
        else:
            self.operands.append(ast.Compare(op=token.raw, left=left, right=right))

    def close(self, token: Token) -> None:
        opener, height = self.reduce_to(token.kind)
        if token.kind is Kind.END_INDEX:
            key = self.operands.pop()
            self.operands.append(ast.Index(target=self.operands.pop(), key=key))
        elif token.kind is Kind.END_PARAMS:
            args = tuple(self.operands[height:])
            del self.operands[height:]
            call = self.operands.pop()
            assert isinstance(call, ast.Call) and opener is not None
            self.operands.append(self.check_call(call, args, opener, self.calls.pop()))

    def check_call(
        self, call: ast.Call, args: tuple[ast.Node, ...], paren: Token, name: Token
    ) -> ast.Call:
        """The runner checks argument counts when the call closes, pointing at its `(`."""
        low, high = self.functions[call.name.lower()]
        if len(args) < low:
            raise self.error("Too few parameters supplied", paren)
        if len(args) > high:
            raise self.error("Too many parameters supplied", paren)
        if call.name.lower() == "case" and len(args) % 2 == 0:
            raise self.error(
                "Even number of parameters supplied, requires an odd number of parameters",
                name,
            )
        return ast.Call(name=call.name, args=args)


def parse(
    text: str,
    *,
    named_values: Collection[str] | None = None,
    functions: Mapping[str, tuple[int, int]] = BUILTINS,
) -> ast.Node | None:
    """The tree of `text` (None for empty text); raises `ExpressionError`."""
    if len(text) > MAX_LENGTH // 2 and len(text.encode("utf-16-le")) // 2 > MAX_LENGTH:
        raise ExpressionError(
            f"Exceeded max expression length {MAX_LENGTH}", kind=ErrorKind.PARSING
        )
    return _Parser(text, named_values, functions).parse()
