"""What an untrusted SQLite payload may do: a static check and an authorizer.

A payload plays into one new file and must never reach another: no ``ATTACH`` or
``DETACH`` (a file anywhere on disk), no ``VACUUM`` (``VACUUM INTO`` writes a file), no
pragma except a few that only change this file's header or this connection
(:data:`ALLOWED_PRAGMAS`; so ``writable_schema`` stays off and SQLite itself refuses writes
to ``sqlite_schema``), no virtual tables (module code), no transaction control (the
restore is one transaction), and no call of a function
that loads code or touches files (``load_extension``; ``readfile``/``writefile``/``edit``
and ``fts3_tokenizer`` are refused by name though plain ``sqlite3`` has none of them).

Two layers say the same thing. :func:`check_statement` reads the statement's words
(cheap, before SQLite sees it); :class:`Guard` is an authorizer
(``Connection.set_authorizer``) that SQLite asks about every action while it compiles a
statement, so text the word check misreads still meets SQLite's own parser. The restore
connection also allows no attached database at all (``SQLITE_LIMIT_ATTACHED`` = 0),
``trusted_schema`` is off and extension loading is never enabled.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

ALLOWED_PRAGMAS = frozenset(
    {
        "application_id",
        "user_version",
        "foreign_keys",
        "defer_foreign_keys",
        "recursive_triggers",
        "encoding",
        "case_sensitive_like",
    }
)
DENIED_FUNCTIONS = frozenset(
    {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "sqlar_uncompress"}
)
#: Statements a payload may carry but that a restore skips (it is one transaction).
SKIPPED = frozenset({"BEGIN", "COMMIT", "END"})

_TOKENS = re.compile(
    r"""'(?:[^']|'')*'?|"((?:[^"]|"")*)"?|`((?:[^`]|``)*)`?|\[([^\]]*)\]?"""
    r"""|--[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/)?|([A-Za-z_][A-Za-z0-9_$]*)|(\S)"""
)


def lex(text: str, limit: int | None = None) -> list[str]:
    """Words and quoted identifiers (unquoted, lower case) and punctuation; no strings.

    At most ``limit`` tokens when given (the head of a long ``INSERT``).
    """
    out: list[str] = []
    for match in _TOKENS.finditer(text):
        if limit is not None and len(out) >= limit:
            break
        dq, bq, br, word, punct = match.groups()
        if word is not None:
            out.append(word.lower())
        elif dq is not None or bq is not None or br is not None:
            name = dq if dq is not None else bq if bq is not None else br
            out.append("\x00" + name.lower())  # a quoted name: never a keyword
        elif punct is not None:
            out.append(punct)
    return out


def first_word(text: str) -> str:
    """The statement's first keyword, upper case (``""`` when it has none)."""
    match = _TOKENS.search(text)
    while match is not None and match.group(4) is None and match.group(5) is None:
        match = _TOKENS.search(text, match.end())
    return (match.group(4) or "").upper() if match is not None else ""


def check_statement(text: str) -> str | None:
    """Why a payload statement is refused, or ``None`` when its words are harmless."""
    head = lex(text, 8)
    if not head:
        return None
    if head[:1] == ["explain"]:
        head = head[3:] if head[1:3] == ["query", "plan"] else head[1:]
    verb = head[0] if head else ""
    if verb in ("attach", "detach"):
        return f"{verb.upper()} reaches another database file"
    if verb == "vacuum":
        return "VACUUM is not allowed in a template (VACUUM INTO writes another file)"
    if verb in ("rollback", "savepoint", "release"):
        return "transaction control is not allowed in a template (a restore is one transaction)"
    if verb == "pragma":
        reason = _pragma(head[1:])
        if reason:
            return reason
    if verb == "create" and "virtual" in head[1:3]:
        return "virtual tables are not allowed in a template (they run module code)"
    lowered = text.lower()
    if not any(name in lowered for name in DENIED_FUNCTIONS):
        return None
    tokens = lex(text)
    for index, token in enumerate(tokens):
        name = token.lstrip("\x00")
        if name in DENIED_FUNCTIONS and tokens[index + 1 : index + 2] == ["("]:
            return f"calls {name}(), which reaches outside the database"
    return None


def _pragma(rest: list[str]) -> str | None:
    if len(rest) >= 3 and rest[1] == ".":
        schema, name = rest[0].lstrip("\x00"), rest[2].lstrip("\x00")
        if schema != "main":
            return f"PRAGMA {schema}.{name} reaches another database"
    else:
        name = rest[0].lstrip("\x00") if rest else ""
    if name not in ALLOWED_PRAGMAS:
        return f"PRAGMA {name or '?'} is not allowed in a template"
    return None


@dataclass
class Guard:
    """An authorizer: refuses what reaches outside the file; remembers why.

    ``transactions`` allows BEGIN/COMMIT/SAVEPOINT (the restore's own); the payload runs
    with it off.
    """

    transactions: bool = False
    denied: list[str] = field(default_factory=list)

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        reason = self._reason(action, arg1, arg2, db)
        if reason is None:
            return sqlite3.SQLITE_OK
        self.denied.append(reason)
        return sqlite3.SQLITE_DENY

    def _reason(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None
    ) -> str | None:
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            return "ATTACH and DETACH reach another database file"
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if db not in (None, "main"):
                return f"PRAGMA {db}.{name} reaches another database"
            if name not in ALLOWED_PRAGMAS:
                return f"PRAGMA {name} is not allowed in a template"
            return None
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in DENIED_FUNCTIONS:
                return f"calls {arg2}(), which reaches outside the database"
            return None
        if action in (sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE):
            return "virtual tables are not allowed in a template (they run module code)"
        if action in (sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT):
            return None if self.transactions else "transaction control is not allowed in a template"
        return None

    def reason(self) -> str:
        """The last refusal, for an error message."""
        return self.denied[-1] if self.denied else "not authorized"


def harden(conn: sqlite3.Connection) -> None:
    """Close the doors a payload or a stranger's schema could use on ``conn``."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.execute("PRAGMA trusted_schema = OFF")
