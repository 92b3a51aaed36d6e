"""GitHub's coercions: string and number conversion, truthiness, loose comparison.

Follows the runner (C#, `EvaluationResult` / `ExpressionUtility`): loose `==` coerces
null/bool to numbers and strings to numbers when the other side is a number; strings
compare OrdinalIgnoreCase; arrays and objects compare by reference; NaN equals nothing.
Called by the compiled closures (`compile.py`) and by the functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from conveyor.workflow.expr.values import Value

#: Char.IsWhiteSpace: Unicode space separators, line/paragraph separators, \t-\r, U+0085.
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_WS = "".join(sorted(WHITESPACE))
#: Double.TryParse with AllowLeadingSign | AllowDecimalPoint | AllowExponent (invariant).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL = re.compile(r"[+-]?(?:infinity|nan)", re.IGNORECASE)
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCTAL = re.compile(r"0o[0-7]+")
_INT32 = 1 << 32


def parse_number(text: str) -> float:
    """A string as a number the way the runner does (JavaScript's Number(), roughly); NaN if not."""
    text = text.strip(_WS)
    if not text:
        return 0.0
    if _DECIMAL.fullmatch(text):
        return float(text)
    if _SPECIAL.fullmatch(text):
        return float(text.lower().replace("infinity", "inf"))
    if _HEX.fullmatch(text) or _OCTAL.fullmatch(text):
        # Int32 parsing: up to 32 bits, the top bit makes it negative; more overflows.
        number = int(text[2:], 16 if text[1] == "x" else 8)
        if number >= _INT32:
            return math.nan
        return float(number - _INT32 if number >= _INT32 // 2 else number)
    return math.nan


def to_number(value: Value) -> float:
    """ConvertToNumber: null 0, booleans 0/1, strings parsed, arrays and objects NaN."""
    if value is None:
        return 0.0
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        return int_to_float(value)
    if isinstance(value, str):
        return parse_number(value)
    return math.nan


def int_to_float(value: int) -> float:
    """An integer from a context as a double (huge ones become infinities, not errors)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def number_to_str(number: float) -> str:
    """.NET's Double.ToString("G15"): up to 15 significant digits, E+XX beyond."""
    if math.isnan(number):
        return "NaN"
    if number in (math.inf, -math.inf):
        return "Infinity" if number > 0 else "-Infinity"
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))  # -0 prints as 0, as GitHub's shared test data expects
    return format(number, ".15G")


def to_str(value: Value) -> str:
    """GitHub's string coercion: null '', 'true'/'false', numbers G15, 'Array', 'Object'."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return number_to_str(value)
    if isinstance(value, int):
        return number_to_str(int_to_float(value))
    if isinstance(value, list | tuple):
        return "Array"
    return "Object"


def is_truthy(value: Value) -> bool:
    """Falsy: null, false, 0, -0, NaN, ''. Arrays and objects are always truthy."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float):
        return not math.isnan(value) and value != 0.0
    if isinstance(value, int):
        return value != 0
    return True


_FOLD_CACHE: dict[str, str] = {}


def _fold_char(char: str) -> str:
    folded = _FOLD_CACHE.get(char)
    if folded is None:
        upper = char.upper()
        # Simple (one-to-one) upper-case mapping only; the dotless i is not folded.
        folded = upper if len(upper) == 1 and char != "\u0131" else char
        _FOLD_CACHE[char] = folded
    return folded


def fold(text: str) -> str:
    """OrdinalIgnoreCase key: every character upper-cased by its simple mapping."""
    if text.isascii():
        return text.upper()
    return "".join(_fold_char(char) for char in text)


def str_equal(left: str, right: str) -> bool:
    """String equality, ignoring case the way .NET's OrdinalIgnoreCase does."""
    return left == right or (len(left) == len(right) and fold(left) == fold(right))


def str_compare(left: str, right: str) -> int:
    """OrdinalIgnoreCase ordering (-1, 0, 1) over UTF-16 code units."""
    a, b = fold(left), fold(right)
    if not (a.isascii() and b.isascii()):
        a16 = a.encode("utf-16-be", "surrogatepass")
        b16 = b.encode("utf-16-be", "surrogatepass")
        return (a16 > b16) - (a16 < b16)
    return (a > b) - (a < b)


def lookup(obj: Mapping[str, Value], key: str) -> tuple[bool, Value]:
    """Case-insensitive property lookup, as the runner's dictionaries (OrdinalIgnoreCase)."""
    if key in obj:
        return True, obj[key]
    folded = fold(key)
    for name, item in obj.items():
        text = name if isinstance(name, str) else to_str(name)  # YAML may give int/bool keys
        if len(text) == len(key) and fold(text) == folded:
            return True, item
    return False, None


def _kind(value: Value) -> int:
    """0 null, 1 bool, 2 number, 3 string, 4 array/object."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 2
    if isinstance(value, str):
        return 3
    return 4


def _coerce(left: Value, right: Value) -> tuple[int, Value, Value]:
    """CoerceTypes: returns (common kind or -1, left, right) after GitHub's conversions."""
    lk, rk = _kind(left), _kind(right)
    while lk != rk:
        if lk == 2 and rk == 3:
            right, rk = parse_number(right), 2  # type: ignore[arg-type]
        elif lk == 3 and rk == 2:
            left, lk = parse_number(left), 2  # type: ignore[arg-type]
        elif lk in (0, 1):
            left, lk = to_number(left), 2
        elif rk in (0, 1):
            right, rk = to_number(right), 2
        else:
            return -1, left, right
    return lk, left, right


def loose_equal(left: Value, right: Value) -> bool:
    """AbstractEqual: GitHub's `==`."""
    if type(left) is str and type(right) is str:
        return str_equal(left, right)
    kind, left, right = _coerce(left, right)
    if kind == 2:
        return to_number(left) == to_number(right)  # NaN never equals
    if kind == 3:
        return str_equal(left, right)  # type: ignore[arg-type]
    if kind == 4:
        return left is right
    return kind != -1 and left == right


def greater(left: Value, right: Value) -> bool:
    """AbstractGreaterThan: GitHub's `>` (mixed kinds that do not coerce are never greater)."""
    kind, left, right = _coerce(left, right)
    if kind == 2:
        return to_number(left) > to_number(right)
    if kind == 3:
        return str_compare(left, right) > 0  # type: ignore[arg-type]
    if kind == 1:
        return left is True and right is False
    return False


def less(left: Value, right: Value) -> bool:
    """AbstractLessThan: GitHub's `<`."""
    return greater(right, left)
