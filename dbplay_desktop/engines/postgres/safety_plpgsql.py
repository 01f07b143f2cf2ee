"""Getting every PL/pgSQL body through PostgreSQL's own PL/pgSQL parser (libpg_query).

libpg_query compiles a body without a catalog, and gives up ("Not implemented") on a
variable declared with a type in a schema other than ``public`` or ``pg_catalog``
(``DECLARE v app.mood;``). A scan that then fell back to reading the body as text could
be walked around, so instead the schema of each declared type is replaced by ``public``
and the body parsed again. That is sound for the scan: only the qualifier of a name
changes, never a function or statement name, and the declarations are found the way
PL/pgSQL's own grammar reads them (``read_datatype``: up to ``;``, ``:=``, ``=``,
``DEFAULT``, ``NOT`` or ``COLLATE`` outside brackets). What still does not parse is
refused.
"""

from __future__ import annotations

from typing import Any

from dbplay_desktop.engines.postgres.script import COMMENT_TOKENS, sql_tokens

_TYPE_ENDS = frozenset({"ASCII_59", "COLON_EQUALS", "ASCII_61", "COLLATE", "NOT", "DEFAULT"})
_OPEN = frozenset({"ASCII_40", "ASCII_91"})
_CLOSE = frozenset({"ASCII_41", "ASCII_93"})
_NOT_A_TYPE = frozenset({"alias", "cursor", "scroll", "no"})
_BUILT_IN_SCHEMAS = frozenset({"public", "pg_catalog"})


def _word(body: str, tok: Any) -> str:
    text = body[tok.start : tok.end + 1]
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def _skip_to_semicolon(tokens: list[Any], index: int) -> int:
    """The index just after the next ``;`` outside brackets."""
    depth = 0
    while index < len(tokens):
        name = tokens[index].name
        if name in _OPEN:
            depth += 1
        elif name in _CLOSE:
            depth -= 1
        elif name == "ASCII_59" and depth <= 0:
            return index + 1
        index += 1
    return index


def qualify_declared_types(body: str) -> str:
    """``body`` with the schema of every declared variable's type replaced by ``public``."""
    return read_declarations(body)[0]


def declared_defaults(body: str) -> list[str]:
    """The default expressions of the variables ``body`` declares.

    libpg_query's JSON leaves out the default of a variable of a composite (or unknown)
    type, so the scan reads them from the declarations themselves.
    """
    return read_declarations(body)[1]


def read_declarations(body: str) -> tuple[str, list[str]]:
    """``body`` with declared types qualified (see above), and the declared defaults."""
    tokens = [tok for tok in sql_tokens(body) if tok.name not in COMMENT_TOKENS]
    edits: list[tuple[int, int, str]] = []
    defaults: list[str] = []
    index = 0
    while index < len(tokens):
        if tokens[index].name != "DECLARE":
            index += 1
            continue
        index += 1
        while index < len(tokens) and tokens[index].name != "BEGIN_P":
            if tokens[index].name == "DECLARE":
                index += 1
                continue
            first = index + 1
            if first < len(tokens) and _word(body, tokens[first]) == "constant":
                first += 1
            if first < len(tokens) and _word(body, tokens[first]) not in _NOT_A_TYPE:
                edit = _type_qualifier(body, tokens, first)
                if edit is not None:
                    edits.append(edit)
                defaults.extend(_default(body, tokens, first))
            index = _skip_to_semicolon(tokens, index + 1)
    for start, end, replacement in reversed(edits):
        body = body[:start] + replacement + body[end:]
    return body, defaults


def _default(body: str, tokens: list[Any], first: int) -> list[str]:
    """The text after ``:=``, ``=`` or ``DEFAULT`` of the declaration at ``first``."""
    end = _skip_to_semicolon(tokens, first) - 1
    depth = 0
    for index in range(first, min(end, len(tokens))):
        name = tokens[index].name
        if name in _OPEN:
            depth += 1
        elif name in _CLOSE:
            depth -= 1
        elif depth <= 0 and name in ("COLON_EQUALS", "ASCII_61", "DEFAULT"):
            stop = tokens[end].start if end < len(tokens) else len(body)
            return [body[tokens[index].end + 1 : stop]]
    return []


def _type_qualifier(body: str, tokens: list[Any], first: int) -> tuple[int, int, str] | None:
    """Where the schema of the type starting at ``tokens[first]`` is, if it needs replacing."""
    last, depth = first, 0
    while last < len(tokens):
        name = tokens[last].name
        if name in _OPEN:
            depth += 1
        elif name in _CLOSE:
            depth -= 1
        elif depth <= 0 and name in _TYPE_ENDS:
            break
        last += 1
    if last - first < 3 or tokens[first + 1].name != "ASCII_46":
        return None
    schema = tokens[first]
    if schema.kind == "RESERVED_KEYWORD" or _word(body, schema) in _BUILT_IN_SCHEMAS:
        return None
    return _qualified_edit(tokens, first)


def _qualified_edit(tokens: list[Any], first: int) -> tuple[int, int, str]:
    """The edit for the qualified name at ``tokens[first]``: its schema becomes
    ``public`` (an unknown type, a record to libpg_query); an array of it becomes
    ``pg_catalog.text``, since libpg_query refuses arrays of records."""
    after = first + 3
    if after < len(tokens) and (tokens[after].name == "ASCII_91" or tokens[after].name == "ARRAY"):
        return tokens[first].start, tokens[first + 2].end + 1, "pg_catalog.text"
    return tokens[first].start, tokens[first].end + 1, "public"


def dollar_quote(text: str) -> str:
    """``text`` as a dollar-quoted literal whose tag does not occur in it."""
    tag, number = "$dbplay$", 0
    while tag in text:
        number += 1
        tag = f"$dbplay{number}$"
    return tag + text + tag


def replace_body(statement: str, as_offset: int, body: str) -> str | None:
    """``statement`` (a CREATE FUNCTION) with the literal after its ``AS`` at character
    ``as_offset`` replaced by ``body``; ``None`` if that literal is not found there."""
    from pglast.parser import ParseError

    try:
        tokens = [t for t in sql_tokens(statement[as_offset:]) if t.name not in COMMENT_TOKENS]
    except ParseError:
        return None
    if len(tokens) < 2 or tokens[0].name != "AS" or tokens[1].name != "SCONST":
        return None
    start, end = as_offset + tokens[1].start, as_offset + tokens[1].end + 1
    head, tail = qualify_names(statement[:start]), qualify_names(statement[end:])
    return head + dollar_quote(body) + tail


def qualify_names(text: str) -> str:
    """``text`` with the first part of every qualified name (``app.mood``, but not
    ``public`` or ``pg_catalog``) replaced by ``public``: the argument and result types
    of a function header, which libpg_query cannot look up either."""
    tokens = [tok for tok in sql_tokens(text) if tok.name not in COMMENT_TOKENS]
    edits = []
    for index in range(len(tokens) - 1):
        tok = tokens[index]
        if tokens[index + 1].name != "ASCII_46" or tok.kind == "RESERVED_KEYWORD":
            continue
        if tok.name not in ("IDENT",) and tok.kind == "NO_KEYWORD":
            continue
        if index and tokens[index - 1].name == "ASCII_46":
            continue
        if _word(text, tok) not in _BUILT_IN_SCHEMAS and index + 2 < len(tokens):
            edits.append(_qualified_edit(tokens, index))
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text
