"""GitHub's expression language (`${{ … }}`): lexer, parser, evaluator, functions, templates.

Follows GitHub's runner (C#) bit for bit where it and the TypeScript evaluator differ.
Pure: no I/O except `hashfiles.py`, which the engine wraps as an extension `Function`.

Who calls what:
- the loader (`workflow.load`) compiles templates and conditions and calls `check_allowed`
  with the schema's context list for the key, to report problems in GitHub's words;
- the engine (`workflow.run`) evaluates them with an `EvalContext` holding the contexts
  and the status functions / `hashFiles` (`hash_files_function(workspace)`);
- `conveyor expr` (`app.cmd_expr`) evaluates one expression or a JSONL batch.

Modules: `lexer` → `parser` (→ `ast`) → `compile` (closures) using `coerce`,
`functions`, `formatting`, `jsonfmt`; `expression`, `template` and `condition` (`if:`
values) are the entry points.
"""

from conveyor.workflow.expr.ast import to_text
from conveyor.workflow.expr.check import check_allowed
from conveyor.workflow.expr.coerce import is_truthy, to_str
from conveyor.workflow.expr.condition import compile_condition
from conveyor.workflow.expr.context import EvalContext, Function
from conveyor.workflow.expr.errors import ErrorKind, ExpressionError
from conveyor.workflow.expr.expression import (
    Expression,
    compile_expression,
    parse_with,
)
from conveyor.workflow.expr.hashfiles import hash_files_function
from conveyor.workflow.expr.jsonfmt import to_json
from conveyor.workflow.expr.raw import evaluate_mapping, evaluate_raw, is_insert
from conveyor.workflow.expr.template import Template, compile_template
from conveyor.workflow.expr.values import Value, kind_of

__all__ = [
    "ErrorKind",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "Function",
    "Template",
    "Value",
    "check_allowed",
    "compile_condition",
    "compile_expression",
    "compile_template",
    "evaluate_mapping",
    "evaluate_raw",
    "hash_files_function",
    "is_insert",
    "is_truthy",
    "kind_of",
    "parse_with",
    "to_json",
    "to_str",
    "to_text",
]
