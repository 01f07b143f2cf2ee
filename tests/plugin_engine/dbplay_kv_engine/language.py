"""The kv language: one command per line, its words cut by :mod:`shlex`.

``SET key value``, ``GET key``, ``DEL key``, ``KEYS [prefix]``, ``SLEEP seconds``; words
may be quoted (``SET greeting 'hello world'``) and ``#`` outside quotes starts a comment.
"""

from __future__ import annotations

import shlex

from dbplay_desktop.engines.base import LineIndex, QueryError, Statement

#: command -> (fewest, most) arguments
ARITY: dict[str, tuple[int, int]] = {
    "SET": (2, 2), "GET": (1, 1), "DEL": (1, 1), "KEYS": (0, 1), "SLEEP": (1, 1),
}


def keywords() -> tuple[str, ...]:
    """The commands, for completion."""
    return tuple(ARITY)


def words(line: str) -> list[str]:
    """The words of one line; raises ``ValueError`` for an open quote or a lone ``\\``."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _is_blank(line: str) -> bool:
    try:
        return not words(line)
    except ValueError:
        return False  # an open quote is a statement: running it says what is wrong


def split_kv(text: str) -> list[Statement]:
    """One statement per line that holds a command (blank and comment lines skipped)."""
    index = LineIndex(text)
    statements: list[Statement] = []
    start, size = 0, len(text)
    while start <= size:
        newline = text.find("\n", start)
        end = size if newline < 0 else newline
        first, stop = start, end
        while first < stop and text[first].isspace():
            first += 1
        while stop > first and text[stop - 1].isspace():  # also the \r of CRLF
            stop -= 1
        if first < stop and not _is_blank(text[first:stop]):
            statements.append(Statement.at(text, first, stop, index))
        if newline < 0:
            break
        start = newline + 1
    return statements


def error(message: str, statement: Statement) -> QueryError:
    """A :class:`QueryError` located at ``statement``."""
    return QueryError(message, position=statement.start, line=statement.line,
                      column=statement.column, code_name="kv")


def parse(statement: Statement) -> tuple[str, list[str]]:
    """The command (upper case) and its arguments; a :class:`QueryError` when malformed."""
    try:
        found = words(statement.text)
    except ValueError as exc:
        raise error(f"cannot read the line: {exc}", statement) from None
    command, args = found[0].upper(), found[1:]
    if command not in ARITY:
        raise error(f"unknown command {found[0]!r} (expected {', '.join(ARITY)})", statement)
    fewest, most = ARITY[command]
    if not fewest <= len(args) <= most:
        wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
        raise error(f"{command} takes {wanted} argument(s), not {len(args)}", statement)
    return command, args
