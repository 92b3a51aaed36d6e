"""Walks YAML nodes against GitHub's template schema and reports every mismatch.

Follows the reading rules of GitHub's template reader (`@actions/workflow-parser`): a
mapping picks among its one-of mapping definitions by the keys it meets, reports unknown
keys as `Unexpected value 'key'`, duplicate keys case-insensitively, and missing required
properties once only one definition is left; a literal that matches no scalar definition
is tried again as a string (numbers and booleans are fine where strings are expected); a
value with `${{ }}` is an expression, legal only where the schema lists contexts, and each
expression is checked against those contexts and functions (`expressions`).

Called by `conveyor.workflow.load` through `validate`. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.workflow.schema.definitions import ANY, Definition, Kind, Schema
from conveyor.workflow.schema.directives import (
    INSERT_TOKEN,
    directive_error,
    is_directive,
    template_only_error,
)
from conveyor.workflow.schema.expressions import (
    check_condition,
    check_expression,
    literal_string,
    rule_of,
    split_template,
)
from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq
from conveyor.workflow.schema.problems import Sink
from conveyor.workflow.schema.scalars import ScalarValue

#: definitions whose plain string is itself an expression (`if:` without `${{ }}`)
CONDITION_DEFINITIONS = frozenset({"job-if", "step-if", "snapshot-if", "runs-if"})
#: mappings GitHub also accepts empty (`inputs:` with no value; parser case
#: on-workflow_dispatch-inputs-null) although the strict schema does not say so
NULL_ALLOWED = frozenset({"workflow-dispatch-inputs"})
#: mappings of named properties GitHub lets hold expression keys (their definition has a
#: `context`); the engine evaluates them whole before reading their properties
#: (`Strategy.template`, `Container.template`, `RunDefaults.template`; `strategy.matrix` is
#: kept raw anyway). An expression key in any other mapping with fixed properties is
#: reported rather than dropped
EVALUATED_KEY_MAPPINGS = frozenset(
    {
        "matrix",
        "strategy",
        "container-mapping",
        "service-container-mapping",
        "container-registry-credentials",
        "job-defaults-run",
    }
)
#: mappings whose keys GitHub's converter reads as plain strings (`assertString`), so it
#: rejects an expression key: definition -> what GitHub's message calls the key
STRING_KEY_MAPPINGS: dict[str, str] = {
    "concurrency-mapping": "concurrency group key",
    "job-environment-mapping": "job environment key",
    "runs-on-mapping": "job runs-on property name",
    "services": "service key",
}
MERGE_KEY = (
    "'<<' is not a merge key on GitHub (YAML 1.2 has none): it is read as a key named '<<'. "
    "Write the entries out, or alias the whole mapping"
)
UNSUPPORTED_KEY = (
    "Conveyor does not evaluate an expression key here (GitHub does); "
    "write the keys of this mapping literally"
)
_BACKGROUND_KEYS = frozenset({"background", "wait", "wait-all", "cancel"})
_STEP_DEFINITIONS = frozenset({"run-step", "regular-step"})
STEP_OUTPUTS_HINT = (
    " (a step has no `outputs:`; declare outputs under jobs.<job_id>.outputs and set them "
    'from the step with `echo "name=value" >> "$GITHUB_OUTPUT"`)'
)


def validate(node: Node, root: str, schema: Schema, sink: Sink) -> None:
    """Check `node` against definition `root`; problems go to `sink`."""
    _Reader(schema, sink).value(node, schema.get(root), ())


def _merge(parent: tuple[str, ...], own: Iterable[str]) -> tuple[str, ...]:
    seen = {c.upper() for c in parent}
    merged = list(parent)
    for item in own:
        if item.upper() not in seen:
            seen.add(item.upper())
            merged.append(item)
    return tuple(merged)


def _matches(definition: Definition, value: ScalarValue) -> bool:
    kind = definition.kind
    if kind == Kind.STRING:
        if not isinstance(value, str):
            return False
        if definition.constant:
            return value == definition.constant
        return bool(value) or not definition.require_non_empty
    if kind == Kind.BOOLEAN:
        return isinstance(value, bool)
    if kind == Kind.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return kind == Kind.NULL and value is None


class _Reader:
    def __init__(self, schema: Schema, sink: Sink) -> None:
        self._schema = schema
        self._sink = sink

    def _error(self, node: Node, message: str, rule: str) -> None:
        self._sink.add(node.line, node.col, message, rule)

    def value(self, node: Node, definition: Definition, context: tuple[str, ...]) -> None:
        if definition.context:
            context = _merge(context, definition.context)
        if isinstance(node, Scalar):
            if node.value is None and definition.name in NULL_ALLOWED:
                return
            self._scalar(node, definition, context)
        elif isinstance(node, Seq):
            self._sequence(node, definition, context)
        else:
            self._mapping(node, definition, context)

    def _sequence(self, node: Seq, definition: Definition, context: tuple[str, ...]) -> None:
        found = self._schema.of_kind(definition, Kind.SEQUENCE)
        if not found:
            self._error(node, "A sequence was not expected", "type")
            return
        item = self._schema.get(found[0].item_type)
        for child in node.items:
            self.value(child, item, context)

    def _scalar(self, node: Scalar, definition: Definition, context: tuple[str, ...]) -> None:
        is_expression, value = self.parse_scalar(node, context)
        if is_expression and value == INSERT_TOKEN:
            self._error(node, f"Unexpected value '{INSERT_TOKEN}'", "directive")
            return
        if is_expression:
            if not context:
                self._error(
                    node,
                    "A template expression is not allowed in this context",
                    "expression-context",
                )
            return
        if definition.name in CONDITION_DEFINITIONS and isinstance(value, str) and value.strip():
            message = check_condition(value, context)
            if message:
                self._error(node, message, rule_of(message))
        self.literal(node, value, definition)

    def literal(self, node: Scalar, value: ScalarValue, definition: Definition) -> None:
        """Report a literal that matches no scalar definition (after string coercion)."""
        candidates = self._schema.scalars(definition)
        if any(_matches(d, value) for d in candidates):
            return
        text = Scalar(value=value, line=0, col=0, end_line=0).text
        if not isinstance(value, str) and any(_matches(d, text) for d in candidates):
            return
        self._error(node, f"Unexpected value '{text}'", "value")

    def parse_scalar(self, node: Scalar, context: tuple[str, ...]) -> tuple[bool, ScalarValue]:
        """(is an expression, literal value); errors in `${{ }}` are reported here."""
        value = node.value
        if not isinstance(value, str) or "${{" not in value:
            return False, value
        segments = split_template(value)
        if segments is None:
            self._error(
                node,
                "The expression is not closed. An unescaped ${{ sequence was found, but the "
                "closing }} sequence was not found.",
                "expression",
            )
            return False, value
        failed = False
        expressions = [text for is_expr, text in segments if is_expr]
        if any(is_directive(text) for text in expressions):
            message = directive_error(expressions, whole=len(segments) == 1)
            if message:
                self._error(node, message, "directive")
                return False, value
            return True, INSERT_TOKEN
        for text in expressions:
            message = template_only_error(text, context) or check_expression(text, context)
            if message:
                self._error(node, message, rule_of(message))
                failed = True
        if failed:
            return False, value
        if len(segments) == 1 and expressions:
            literal = literal_string(expressions[0])
            if literal is not None:
                return False, literal
        return True, value

    def _mapping(self, node: Map, definition: Definition, context: tuple[str, ...]) -> None:
        candidates = self._schema.of_kind(definition, Kind.MAPPING)
        if not candidates:
            self._error(node, "A mapping was not expected", "type")
            return
        first = candidates[0]
        if len(candidates) == 1 and not first.properties and first.loose_key_type:
            self._loose_mapping(node, first, context)
            return
        self._known_mapping(node, list(candidates), context)

    def _key(self, key: Node, context: tuple[str, ...]) -> tuple[bool, str] | None:
        """(is an expression, text) of a key, or None when it is not a scalar."""
        if not isinstance(key, Scalar):
            self._error(key, "A mapping key must be a string", "type")
            return None
        is_expression, value = self.parse_scalar(key, context)
        if is_expression and not context:
            self._error(
                key, "A template expression is not allowed in this context", "expression-context"
            )
            return None
        return is_expression, Scalar(value=value, line=0, col=0, end_line=0).text

    def _duplicate(self, key: Scalar, text: str, seen: set[str]) -> bool:
        if not text:
            return False
        if text.upper() in seen:
            self._error(key, f"'{text}' is already defined", "duplicate-key")
            return True
        seen.add(text.upper())
        return False

    def _known_mapping(
        self, node: Map, candidates: list[Definition], context: tuple[str, ...]
    ) -> None:
        loose_key = candidates[0].loose_key_type
        loose_value = candidates[0].loose_value_type or ANY
        seen: set[str] = set()
        has_expression_key = False
        for key, child in node.pairs:
            self._merge_key(key, child)
            parsed = self._key(key, context)
            if parsed is None:
                continue
            is_expression, text = parsed
            if is_expression:
                has_expression_key = True
                self._expression_key(key, candidates[0].name, fixed=True)
                self.value(child, self._schema.get(ANY), context)
                continue
            assert isinstance(key, Scalar)
            if self._duplicate(key, text, seen):
                continue
            prop = self._match_property(candidates, text)
            if prop is not None and text not in _BACKGROUND_KEYS:
                self.value(child, self._schema.get(prop), context)
            elif loose_key and prop is None:
                self.literal(key, text, self._schema.get(loose_key))
                self.value(child, self._schema.get(loose_value), context)
            elif text == "outputs" and any(c.name in _STEP_DEFINITIONS for c in candidates):
                self._error(key, f"Unexpected value '{text}'{STEP_OUTPUTS_HINT}", "step-outputs")
            else:
                self._error(key, f"Unexpected value '{text}'", "unknown-key")
        self._finish_mapping(node, candidates, seen, has_expression_key)

    def _merge_key(self, key: Node, child: Node) -> None:
        """`<<: *alias`: GitHub reads `<<` as an ordinary key (no YAML 1.1 merge); say so."""
        plain = isinstance(key, Scalar) and key.value == "<<" and key.style is None
        if plain and isinstance(child, Map | Seq):
            self._error(key, MERGE_KEY, "yaml-merge")

    def _expression_key(self, key: Node, mapping: str, *, fixed: bool) -> None:
        """Report an expression key where GitHub rejects it, or Conveyor cannot evaluate it."""
        if mapping in STRING_KEY_MAPPINGS:
            message = (
                "Unexpected type 'BasicExpressionToken' encountered while reading "
                f"'{STRING_KEY_MAPPINGS[mapping]}'. The type 'StringToken' was expected."
            )
            self._error(key, message, "type")
        elif fixed and mapping not in EVALUATED_KEY_MAPPINGS:
            self._error(key, UNSUPPORTED_KEY, "unsupported")

    def _finish_mapping(
        self, node: Map, candidates: list[Definition], seen: set[str], has_expression_key: bool
    ) -> None:
        if len(candidates) > 1:
            counts: dict[str, int] = {}
            for candidate in candidates:
                for name in candidate.properties:
                    counts[name] = counts.get(name, 0) + 1
            unique = sorted(
                n for n, c in counts.items() if c == 1 and n not in ("wait", "wait-all", "cancel")
            )
            self._error(
                node,
                "There's not enough info to determine what you meant. Add one of these "
                f"properties: {', '.join(unique)}",
                "ambiguous",
            )
        elif not has_expression_key:
            for name, prop in candidates[0].properties.items():
                if prop.required and name.upper() not in seen:
                    self._error(node, f"Required property is missing: {name}", "required")

    @staticmethod
    def _match_property(candidates: list[Definition], name: str) -> str | None:
        """The property's type; narrows `candidates` to those defining it (in place)."""
        found = [c for c in candidates if name in c.properties]
        if not found:
            return None
        prop_type = found[-1].properties[name].type
        if len(found) != len(candidates):
            candidates[:] = found
        return prop_type

    def _loose_mapping(self, node: Map, definition: Definition, context: tuple[str, ...]) -> None:
        key_def = self._schema.get(definition.loose_key_type or "string")
        value_def = self._schema.get(definition.loose_value_type or ANY)
        seen: set[str] = set()
        for key, child in node.pairs:
            self._merge_key(key, child)
            parsed = self._key(key, context)
            if parsed is None:
                continue
            is_expression, text = parsed
            if is_expression:
                self._expression_key(key, definition.name, fixed=False)
            if not is_expression:
                assert isinstance(key, Scalar)
                if self._duplicate(key, text, seen):
                    continue
                self.literal(key, text, key_def)
            self.value(child, value_def, context)
