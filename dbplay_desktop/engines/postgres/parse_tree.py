"""Reading pglast's JSON parse trees: name lists, constants, strings.

Small pure helpers the safety scan uses on libpg_query's JSON form of a statement (and
of PL/pgSQL expressions), kept apart from the checker's rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dbplay_desktop.engines.postgres.script import sql_tokens


def name_list(items: list[Any] | None) -> list[str]:
    """The strings of a name list (``[{"String": {"sval": ...}}, ...]``)."""
    names = []
    for item in items or ():
        value = item.get("String", {}).get("sval") if isinstance(item, dict) else None
        if value is not None:
            names.append(value)
    return names


def const(node: Any) -> Any:
    """The value of an ``A_Const`` (string, number or bool), else ``None``."""
    while isinstance(node, dict) and "TypeCast" in node:  # 'search_path'::text
        node = node["TypeCast"].get("arg")
    if not isinstance(node, dict):
        return None
    const = node.get("A_Const")
    if const is None:
        return None
    for key, default in (("sval", ""), ("ival", 0), ("fval", "0"), ("boolval", False)):
        if key in const:
            inner = const[key]
            return inner.get(key, default) if isinstance(inner, dict) else inner
    return None


def plpgsql_expr_sql(query: str, mode: int) -> str:
    """A PL/pgSQL expression as a statement the SQL grammar accepts.

    Mode 0 is a whole statement; 2 an expression; 3-5 an assignment ``target := expr``,
    whose target is dropped (it names a local variable).
    """
    if mode == 0:
        return query
    if mode >= 3:
        # The target stays (as an expression): its subscripts are code too.
        depth = 0
        for tok in sql_tokens(query):
            if tok.name in ("ASCII_91", "ASCII_40"):
                depth += 1
            elif tok.name in ("ASCII_93", "ASCII_41"):
                depth -= 1
            elif depth == 0 and tok.name in ("COLON_EQUALS", "ASCII_61"):
                query = query[: tok.start] + ", " + query[tok.end + 1 :]
                break
    return "SELECT " + query


def strings(node: Any) -> Iterator[str]:
    """Every string value anywhere under ``node`` (names, string constants)."""
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "sval" and isinstance(child, str):
                    yield child
                elif isinstance(child, dict | list):
                    stack.append(child)
        elif isinstance(value, list):
            stack.extend(value)


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
