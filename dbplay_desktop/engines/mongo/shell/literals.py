"""mongosh literal values, read from tree-sitter nodes into Python and BSON values.

Only *literals* are read: objects, arrays, strings, numbers, booleans, null, regular
expressions and the shell's value constructors (``ObjectId``, ``ISODate``, ``NumberLong``,
...; :mod:`.constructors`). Anything that would need evaluating -- a variable, an
operator, a function, any other call, a template with ``${}`` -- is refused with its line
and column, and so are the keys that run JavaScript on the server (``$where``,
``$function``, ``$accumulator``). Nesting is capped so hostile input cannot exhaust the
stack.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bson import Int64, MaxKey, MinKey, Regex

from dbplay_desktop.engines.quoting import clip, shown

if TYPE_CHECKING:
    from tree_sitter import Node

    from dbplay_desktop.engines.mongo.shell.tree import Where

#: How deep objects, arrays and constructor calls may nest.
MAX_DEPTH = 100
#: Keys that make the server run JavaScript.
SERVER_JS_KEYS = frozenset({"$where", "$function", "$accumulator"})
#: Identifiers that are values, as in mongosh.
_NAMED_VALUES: dict[str, Any] = {
    "Infinity": math.inf,
    "NaN": math.nan,
    "undefined": None,
}
_INT64 = 1 << 63
#: Decimal digits beyond which an integer is past Int64 (and Python's int() may refuse it).
_INT64_DIGITS = 19
_SKIP = frozenset({"comment", "html_comment"})
#: Regex flags: JavaScript's that mean something to the server are kept, the rest dropped.
_REGEX_KEPT = "imsu"
_REGEX_DROPPED = "gyd"
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def value(node: Node, where: Where, depth: int = 0) -> Any:
    """The Python/BSON value of literal ``node``; raises a located QueryError otherwise."""
    if depth > MAX_DEPTH:
        raise where.error(f"values nest more than {MAX_DEPTH} levels deep", node)
    kind = node.type
    if kind == "object":
        return _object(node, where, depth)
    if kind == "array":
        return _array(node, where, depth)
    if kind == "string":
        return string(node, where)
    if kind == "template_string":
        return _template(node, where)
    if kind == "number":
        return number(node, where)
    if kind == "true":
        return True
    if kind == "false":
        return False
    if kind in ("null", "undefined"):
        return None
    if kind == "regex":
        return _regex(node, where)
    if kind == "unary_expression":
        return _signed(node, where)
    if kind == "identifier":
        name = where.source.node_text(node)
        if name in _NAMED_VALUES:
            return _NAMED_VALUES[name]
        if name in ("MinKey", "MaxKey"):
            return MinKey() if name == "MinKey" else MaxKey()
        raise where.error(f"variables are not available here: {shown(name)} (only literal values)",
                          node)
    if kind in ("call_expression", "new_expression"):
        from dbplay_desktop.engines.mongo.shell.constructors import construct

        return construct(node, where, depth)
    if kind == "parenthesized_expression":
        inner = [child for child in node.named_children if child.type not in _SKIP]
        if len(inner) == 1:
            return value(inner[0], where, depth + 1)
    raise refusal(node, where)


def refusal(node: Node, where: Where) -> Exception:
    """The located error for a node that is no literal value, saying what it is."""
    kind = node.type
    if kind in ("function_expression", "arrow_function", "function", "generator_function",
                "method_definition", "class"):
        what = "functions are not allowed"
    elif kind in ("assignment_expression", "augmented_assignment_expression"):
        what = "assignments are not allowed"
    elif kind == "this":
        what = "'this' is not available"
    elif kind in ("spread_element",):
        what = "spread (...) is not allowed"
    elif kind in ("binary_expression", "ternary_expression", "update_expression",
                  "sequence_expression", "unary_expression"):
        what = f"expressions are not evaluated: {where.snippet(node)!r} (write the value)"
    elif kind in ("member_expression", "subscript_expression"):
        what = f"property access is not available here: {where.snippet(node)!r}"
    elif kind in ("await_expression", "yield_expression"):
        what = f"{kind.split('_')[0]} is not allowed"
    elif kind == "ERROR" or node.is_missing:
        what = f"syntax error near {where.snippet(node)!r}"
    else:
        what = f"not a literal value: {where.snippet(node)!r}"
    return where.error(what, node)


def _object(node: Node, where: Where, depth: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for child in node.named_children:
        kind = child.type
        if kind in _SKIP:
            continue
        if kind != "pair":
            if kind == "shorthand_property_identifier":
                raise where.error(f"variables are not available here: "
                                  f"{where.snippet(child)!r} (write key: value)", child)
            raise refusal(child, where)
        key_node = child.child_by_field_name("key")
        value_node = child.child_by_field_name("value")
        if key_node is None or value_node is None:
            raise where.error("syntax error in an object", child)
        key = _key(key_node, where)
        if key in SERVER_JS_KEYS:
            raise where.error(f"{key} runs JavaScript on the server and is not allowed", key_node)
        result[key] = value(value_node, where, depth + 1)
    return result


def _key(node: Node, where: Where) -> str:
    kind = node.type
    if kind == "property_identifier":
        return where.source.node_text(node)
    if kind == "string":
        return string(node, where)
    if kind == "number":
        number_value = number(node, where)
        if isinstance(number_value, float) and number_value.is_integer():
            number_value = int(number_value)
        return str(number_value)
    if kind == "computed_property_name":
        raise where.error("computed keys ([...]: ) are not allowed", node)
    raise where.error(f"not a key: {where.snippet(node)!r}", node)


def _array(node: Node, where: Where, depth: int) -> list[Any]:
    items: list[Any] = []
    expecting = True  # after "[" or ","
    for child in node.children:
        kind = child.type
        if kind in ("[", "]") or kind in _SKIP:
            continue
        if kind == ",":
            if expecting:
                raise where.error("empty array slots ([1,,2]) are not allowed", child)
            expecting = True
            continue
        items.append(value(child, where, depth + 1))
        expecting = False
    return items


def string(node: Node, where: Where) -> str:
    """A quoted string's value, its escapes decoded as JavaScript does."""
    parts: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "string_fragment":
            parts.append(where.source.node_text(child))
        elif kind == "escape_sequence":
            parts.append(_escape(where.source.node_text(child), child, where))
        elif kind in ("ERROR",) or child.is_missing:
            raise where.error("unterminated string", node)
    return _join(parts)


def _template(node: Node, where: Where) -> str:
    parts: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "template_substitution":
            raise where.error("template strings with ${...} are not allowed", child)
        if kind == "string_fragment":
            parts.append(where.source.node_text(child).replace("\r\n", "\n").replace("\r", "\n"))
        elif kind == "escape_sequence":
            parts.append(_escape(where.source.node_text(child), child, where))
    return _join(parts)


def _join(parts: list[str]) -> str:
    """The parts as one string, ``\\uD83D\\uDE00`` pairs made one character."""
    text = "".join(parts)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        try:
            return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            return text  # a lone surrogate stays as it is
    return text


def _escape(raw: str, node: Node, where: Where) -> str:
    """One JavaScript escape sequence (``raw`` starts with a backslash)."""
    body = raw[1:]
    if not body:
        return ""
    head = body[0]
    if head in ("\n", "\r", "\u2028", "\u2029"):
        return ""  # a line continuation
    if head in _ESCAPES and len(body) == 1:
        return _ESCAPES[head]
    try:
        if head == "x" and len(body) == 3:
            return chr(int(body[1:], 16))
        if head == "u":
            digits = body[2:-1] if body.startswith("u{") else body[1:]
            return chr(int(digits, 16))
    except (ValueError, OverflowError):  # chr() of a huge code point overflows a C int
        raise where.error(f"bad escape sequence {shown(raw)}", node) from None
    if head.isdigit():
        raise where.error(f"octal escape sequences are not allowed: {shown(raw)}", node)
    return body


def number(node: Node, where: Where, negative: bool = False) -> int | float | Int64:
    """A numeric literal (negated when ``negative``): ``int`` when written as an integer,
    ``float`` otherwise.

    ``10n`` (a BigInt) is an Int64; an integer beyond Int64 is a float, as in JavaScript
    (``Infinity`` beyond a float's range, however many digits it has).
    """
    text = where.source.node_text(node).replace("_", "")
    lower = text.lower()
    sign = -1 if negative else 1
    try:
        if lower.endswith("n"):
            body = lower[:-1]
            big = None if _decimal_digits(body) > _INT64_DIGITS else sign * int(body, 0)
            if big is None or not -_INT64 <= big < _INT64:
                raise where.error(f"{clip(text)} does not fit in 64 bits", node)
            return Int64(big)
        if lower.startswith(("0x", "0o", "0b")):
            integer = int(lower, 0)
        elif len(lower) > 1 and lower[0] == "0" and lower.isdigit():
            if not any(ch in "89" for ch in lower):
                raise where.error(f"legacy octal numbers are not allowed: {clip(text)} "
                                  "(use 0o)", node)
            return _decimal(lower, sign)
        elif "." in lower or "e" in lower:
            return sign * float(lower)
        else:
            return _decimal(lower, sign)
    except ValueError:
        raise where.error(f"not a number: {shown(text)}", node) from None
    return _integral(sign * integer)


def _decimal_digits(body: str) -> int:
    """How many significant decimal digits ``body`` has (0 for a hex, octal or binary one)."""
    if body.startswith(("0x", "0o", "0b")):
        return 0
    return len(body.lstrip("0"))


def _decimal(digits: str, sign: int) -> int | float:
    """A decimal integer: an int within Int64, else the nearest float (``inf`` beyond)."""
    if _decimal_digits(digits) > _INT64_DIGITS:
        return sign * float(digits)  # float() reads any number of digits; int() may refuse
    return _integral(sign * int(digits, 10))


def _integral(integer: int) -> int | float:
    """``integer`` as an int within Int64, else as JavaScript holds it: a float."""
    if -_INT64 <= integer < _INT64:
        return integer
    try:
        return float(integer)
    except OverflowError:  # past a double's range: JavaScript's Infinity
        return math.inf if integer > 0 else -math.inf


def _signed(node: Node, where: Where) -> int | float | Int64:
    operator = node.child_by_field_name("operator")
    argument = node.child_by_field_name("argument")
    sign = where.source.node_text(operator) if operator is not None else ""
    if sign not in ("-", "+") or argument is None:
        raise refusal(node, where)
    if argument.type == "number":
        return number(argument, where, negative=sign == "-")
    name = where.source.node_text(argument) if argument.type == "identifier" else ""
    if name in ("Infinity", "NaN"):
        magnitude = _NAMED_VALUES[name]
        return -magnitude if sign == "-" else magnitude
    raise where.error(f"expressions are not evaluated: {where.snippet(node)!r} "
                      "(only a sign before a number)", node)


def _regex(node: Node, where: Where) -> Regex:
    pattern = node.child_by_field_name("pattern")
    flags = node.child_by_field_name("flags")
    flag_text = where.source.node_text(flags) if flags is not None else ""
    kept = []
    for flag in flag_text:
        if flag in _REGEX_KEPT:
            kept.append(flag)
        elif flag not in _REGEX_DROPPED:
            raise where.error(f"regular expression flag {flag!r} is not supported", flags)
    pattern_text = where.source.node_text(pattern) if pattern is not None else ""
    return Regex(pattern_text, "".join(sorted(set(kept))))
