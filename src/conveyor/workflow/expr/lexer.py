"""Tokens of GitHub's expression language, with the runner's rules for which may follow which.

`tokenize(text)` returns the whole token list or raises `ExpressionError`: kind "lexing"
for text that is no token at all (`@`, `=`, `'unclosed`, `0xZ`), kind "parsing" for a
token in a place it cannot be (`1 2`, `foo.1`, `github.()`), reported in text order as the
runner's lexer-driven parser does. Called by `parser.parse`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from conveyor.workflow.expr.coerce import WHITESPACE, parse_number
from conveyor.workflow.expr.errors import ErrorKind, symbol_error

MAX_LENGTH = 21000


class Kind(StrEnum):
    """Token kinds (the runner's TokenKind)."""

    START_GROUP = "("
    START_INDEX = "["
    START_PARAMS = "call("
    END_GROUP = ")"
    END_INDEX = "]"
    END_PARAMS = "call)"
    SEPARATOR = ","
    DEREF = "."
    WILDCARD = "*"
    OPERATOR = "op"
    NULL = "null"
    BOOLEAN = "boolean"
    NUMBER = "number"
    STRING = "string"
    PROPERTY = "property"
    FUNCTION = "function"
    NAMED = "named-value"


@dataclass(frozen=True, slots=True, kw_only=True)
class Token:
    """One token: `index` is the 0-based offset of `raw` in the expression text."""

    kind: Kind
    raw: str
    index: int
    value: object = None


_BOUNDARY = frozenset("([)],.!><=&|") | WHITESPACE
_OPERATORS = frozenset(("!=", ">=", "<=", "==", "&&", "||", "!", ">", "<"))
_START = frozenset((Kind.START_GROUP, Kind.START_INDEX, Kind.START_PARAMS))
_CLOSERS = frozenset((Kind.END_GROUP, Kind.END_PARAMS, Kind.END_INDEX))
#: Operand openers may come first or after `,` `[` `(` or an operator.
_AFTER_OPEN = frozenset((None, Kind.SEPARATOR, Kind.OPERATOR, *_START))
#: Postfix and binary tokens follow `)` `]` `*`, a property name or a named value...
_AFTER_REF = frozenset((*_CLOSERS, Kind.WILDCARD, Kind.PROPERTY, Kind.NAMED))
#: ...and, for closers, separators and binary operators, also a literal.
_AFTER_VALUE = _AFTER_REF | {Kind.NULL, Kind.BOOLEAN, Kind.NUMBER, Kind.STRING}
_LEGAL_AFTER: dict[Kind, frozenset[Kind | None]] = {
    Kind.START_GROUP: _AFTER_OPEN,
    Kind.START_INDEX: _AFTER_REF,
    Kind.START_PARAMS: frozenset((Kind.FUNCTION,)),
    Kind.END_GROUP: _AFTER_VALUE,
    Kind.END_INDEX: _AFTER_VALUE,
    Kind.END_PARAMS: _AFTER_VALUE | {Kind.START_PARAMS},
    Kind.SEPARATOR: _AFTER_VALUE,
    Kind.DEREF: _AFTER_REF,
    Kind.WILDCARD: frozenset((Kind.START_INDEX, Kind.DEREF)),
    Kind.NULL: _AFTER_OPEN,
    Kind.BOOLEAN: _AFTER_OPEN,
    Kind.NUMBER: _AFTER_OPEN,
    Kind.STRING: _AFTER_OPEN,
    Kind.PROPERTY: frozenset((Kind.DEREF,)),
    Kind.FUNCTION: _AFTER_OPEN,
    Kind.NAMED: _AFTER_OPEN,
}
_KEYWORDS: dict[str, tuple[Kind, object]] = {
    "null": (Kind.NULL, None),
    "true": (Kind.BOOLEAN, True),
    "false": (Kind.BOOLEAN, False),
    "NaN": (Kind.NUMBER, math.nan),
    "Infinity": (Kind.NUMBER, math.inf),
}


def utf16_index(text: str, index: int) -> int:
    """The runner counts positions in UTF-16 code units; so do we, for its messages."""
    return index + sum(1 for char in text[:index] if ord(char) > 0xFFFF)


_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_REST = _FIRST | frozenset("0123456789-")


def is_legal_keyword(word: str) -> bool:
    """An ASCII letter or `_`, then ASCII letters, digits, `_` or `-` (the runner's rule)."""
    return bool(word) and word[0] in _FIRST and all(char in _REST for char in word)


class Lexer:
    """Reads tokens lazily (`run()`), so the parser reports problems in the runner's order."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.unclosed: list[Kind] = []

    @property
    def last(self) -> Kind | None:
        return self.tokens[-1].kind if self.tokens else None

    def fail(self, kind: ErrorKind, raw: str, index: int) -> None:
        index16 = utf16_index(self.text, index)
        raise symbol_error(kind, "Unexpected symbol", raw, index16, self.text)

    def emit(self, kind: Kind, raw: str, index: int, value: object = None) -> None:
        """CreateToken: check the token may follow the previous one and brackets match."""
        if kind is Kind.OPERATOR:
            legal = self.last in (_AFTER_OPEN if raw == "!" else _AFTER_VALUE)
        else:
            legal = self.last in _LEGAL_AFTER[kind]
        if legal and kind in _START:
            self.unclosed.append(kind)
        elif legal and kind in _CLOSERS:
            opener = {Kind.END_GROUP: Kind.START_GROUP, Kind.END_INDEX: Kind.START_INDEX}
            legal = bool(self.unclosed) and self.unclosed[-1] == opener.get(kind, Kind.START_PARAMS)
            if legal:
                self.unclosed.pop()
        elif legal and kind is Kind.SEPARATOR:
            legal = bool(self.unclosed) and self.unclosed[-1] is Kind.START_PARAMS
        if not legal:
            self.fail(ErrorKind.PARSING, raw, index)
        self.tokens.append(Token(kind=kind, raw=raw, index=index, value=value))

    def run(self) -> Iterator[Token]:
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos] in WHITESPACE:
                self.pos += 1
            if self.pos >= len(text):
                return
            self.next_token(text[self.pos])
            yield self.tokens[-1]

    def next_token(self, char: str) -> None:
        start = self.pos
        simple = {
            "[": Kind.START_INDEX,
            "]": Kind.END_INDEX,
            ",": Kind.SEPARATOR,
            "*": Kind.WILDCARD,
        }
        if char in simple:
            self.pos += 1
            self.emit(simple[char], char, start)
        elif char == "(":
            self.pos += 1
            kind = Kind.START_PARAMS if self.last is Kind.FUNCTION else Kind.START_GROUP
            self.emit(kind, char, start)
        elif char == ")":
            self.pos += 1
            in_call = bool(self.unclosed) and self.unclosed[-1] is Kind.START_PARAMS
            self.emit(Kind.END_PARAMS if in_call else Kind.END_GROUP, char, start)
        elif char == "'":
            self.read_string()
        elif char in "!<>=&|":
            self.read_operator()
        elif char == "." and self.last not in _AFTER_OPEN:
            self.pos += 1
            self.emit(Kind.DEREF, char, start)
        elif char in "-+." or "0" <= char <= "9":
            self.read_number()
        else:
            self.read_keyword()

    def read_until_boundary(self, *, dots: bool = False) -> str:
        start, text = self.pos, self.text
        self.pos += 1
        while self.pos < len(text) and (
            text[self.pos] not in _BOUNDARY or (dots and text[self.pos] == ".")
        ):
            self.pos += 1
        return text[start : self.pos]

    def read_number(self) -> None:
        start = self.pos
        raw = self.read_until_boundary(dots=True)
        number = parse_number(raw) if raw.strip() == raw else math.nan
        if math.isnan(number):
            self.fail(ErrorKind.LEXING, raw, start)
        self.emit(Kind.NUMBER, raw, start, number)

    def read_keyword(self) -> None:
        start = self.pos
        word = self.read_until_boundary()
        if not is_legal_keyword(word):
            self.fail(ErrorKind.LEXING, word, start)
        if self.last is Kind.DEREF:
            self.emit(Kind.PROPERTY, word, start, word)
        elif word in _KEYWORDS:
            kind, value = _KEYWORDS[word]
            self.emit(kind, word, start, value)
        else:
            rest = self.text[self.pos :].lstrip("".join(WHITESPACE))
            kind = Kind.FUNCTION if rest.startswith("(") else Kind.NAMED
            self.emit(kind, word, start, word)

    def read_string(self) -> None:
        start, text = self.pos, self.text
        pieces: list[str] = []
        self.pos += 1
        while self.pos < len(text):
            end = text.find("'", self.pos)
            if end < 0:
                break
            pieces.append(text[self.pos : end])
            if text.startswith("''", end):
                pieces.append("'")
                self.pos = end + 2
                continue
            self.pos = end + 1
            self.emit(Kind.STRING, text[start : self.pos], start, "".join(pieces))
            return
        self.pos = len(text)
        self.fail(ErrorKind.LEXING, text[start:], start)

    def read_operator(self) -> None:
        start, text = self.pos, self.text
        for width in (2, 1):
            raw = text[start : start + width]
            if len(raw) == width and raw in _OPERATORS:
                self.pos += width
                self.emit(Kind.OPERATOR, raw, start, raw)
                return
        self.fail(ErrorKind.LEXING, self.read_until_boundary(), start)


def tokenize(text: str) -> list[Token]:
    """All tokens of `text`, or the first lexing/parsing error in text order."""
    return list(Lexer(text).run())
