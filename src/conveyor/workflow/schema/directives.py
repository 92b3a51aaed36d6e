"""GitHub's template directives, as `@actions/workflow-parser` reads them in workflows.

The parser knows one directive, `insert` (`template-constants`' INSERT_DIRECTIVE): an
expression whose text is `insert`, or starts with `insert` and whitespace, is the
directive, never an expression. It takes no parameter ("Exactly 0 parameter(s) were
expected following the directive 'insert'. Actual parameter count: N"), must be a whole
value ("The directive 'insert' is not allowed in this context. …"), and is legal only as a
mapping key where the key's mapping allows expressions; as a value it is
"Unexpected value '${{ insert }}'". Azure Pipelines' `if`, `elseif`, `else` and `each`
are not workflow directives: the parser reads `${{ if x }}` as an expression whose first
word is an unknown named-value, and reports that before any syntax error
(`template_only_error`).

Called by `reader`. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

INSERT = "insert"
#: how the directive prints (and the value `reader` uses for an insert key)
INSERT_TOKEN = "${{ insert }}"


def is_directive(expression: str) -> bool:
    """Whether the text inside `${{ }}` is the `insert` directive (with or without
    parameters)."""
    text = expression.strip()
    return text == INSERT or (text.startswith(INSERT) and text[len(INSERT)].isspace())


def parameter_count(expression: str) -> int:
    """Parameters GitHub's `matchDirective` counts after `insert`: it only ever records the
    text after the last unquoted, unbracketed whitespace, so the count is 0 or 1."""
    return 1 if expression.strip()[len(INSERT) :].strip() else 0


def directive_error(expressions: Sequence[str], *, whole: bool) -> str | None:
    """GitHub's message for a misused directive among a value's expressions, or None."""
    for text in expressions:
        if not is_directive(text):
            continue
        count = parameter_count(text)
        if count:
            return (
                f"Exactly 0 parameter(s) were expected following the directive '{INSERT}'. "
                f"Actual parameter count: {count}"
            )
    if not whole:
        return (
            f"The directive '{INSERT}' is not allowed in this context. Directives are not "
            "supported for expressions that are embedded within a string. Directives are "
            "only supported when the entire value is an expression."
        )
    return None


#: Azure Pipelines' template directives, which workflows do not have
TEMPLATE_ONLY = ("if", "elseif", "else", "each")


def template_only_error(expression: str, context: Sequence[str]) -> str | None:
    """GitHub's message for `${{ if … }}` and friends, where the word is no allowed context."""
    text = expression.strip()
    word = text.split(None, 1)[0] if text else ""
    allowed = {c.lower() for c in context}
    if word not in TEMPLATE_ONLY or word in allowed:
        return None
    rest = text[len(word) :]
    if rest and not rest[0].isspace():
        return None
    return f"Unrecognized named-value: '{word}'. Located at position 1 within expression: {text}"
