"""PostgreSQL text cut into statements, as psql would cut it.

Statement boundaries always come from PostgreSQL's own lexer (through pglast), so a ``;``
inside a string, a quoted identifier, a comment or a ``$tag$`` body never cuts a
statement. Two cases the raw scanner split gets wrong are handled like psql does:
SQL-standard function bodies (``BEGIN ATOMIC ... END``) stay one statement, and a
statement whose lexing fails (an unterminated string) is passed on whole, so the
server reports the real error with its position.

:func:`split_sql` and :func:`statement_at` serve the editor's text;
:mod:`dbplay_desktop.engines.postgres.script_reader` uses :func:`cut_text` to stream
plain-SQL dump files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dbplay_desktop.engines.base import LineIndex, Statement

#: Lexer token names of ``--`` and ``/* */`` comments.
COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_ROUTINE_WORDS = frozenset({"FUNCTION", "PROCEDURE"})
_SPACE = frozenset(" \t\n\r\f\v")
#: What may lie between two pieces of libpg_query's split: blanks and ``;``.
_SEPARATORS = " \t\n\r\f\v;"
_NON_ASCII = re.compile(r"[^\x01-\x7f]")
#: A lone surrogate (the editor can hold one) cannot be encoded for the lexer; U+FFFD,
#: one character as well, is a letter to it like any other non-ASCII character.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# --------------------------------------------------------------------------- lexing


def sql_tokens(text: str) -> list[Any]:
    """The lexer tokens of ``text`` (character offsets; ``end`` inclusive).

    pglast maps byte offsets to characters in time proportional to the number of
    non-ASCII characters per token, which is quadratic on large non-ASCII texts. So
    non-ASCII characters are replaced by ``q`` first: the lexer treats every non-ASCII
    character as a letter, and ``q`` starts no special literal, so tokens keep their
    boundaries. The one difference, two dollar-quote tags that differ only in non-ASCII
    letters, is detected and then the original text is lexed instead.
    """
    from pglast.parser import scan

    if text.isascii() and "\x00" not in text:
        return scan(text)
    plain = _NON_ASCII.sub("q", text)
    tokens = scan(plain)
    for tok in tokens:
        if tok.name == "SCONST" and plain[tok.start] == "$":
            tag_end = plain.index("$", tok.start + 1) + 1
            width = tag_end - tok.start
            if text[tok.start : tag_end] != text[tok.end + 1 - width : tok.end + 1]:
                return scan(_encodable(text))
    return tokens


def _encodable(text: str) -> str:
    """``text`` with lone surrogates replaced, character for character (see _SURROGATE)."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def _scanner_error(exc: Exception) -> int:
    """The character index where lexing failed (0 when pglast does not say)."""
    args = getattr(exc, "args", ())
    index = args[1] if len(args) > 1 else None
    return index if isinstance(index, int) and index >= 0 else 0


@dataclass
class TextCut:
    """The statements of a text as ``(start, end)`` spans, and whether it ends cleanly.

    ``start`` is a statement's first token (leading comments skipped), ``end`` the end
    of its last token (the ``;`` excluded). ``open_at`` is set when the text ends inside
    a statement: where that statement starts. ``open_token`` is the index of an
    unterminated string, quoted identifier, comment or dollar-quoted body, if that is why.
    """

    spans: list[tuple[int, int]]
    open_at: int | None = None
    open_token: int | None = None


def _raw_pieces(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """pglast's scanner split as character spans, and the lexer error index if any."""
    from pglast import split
    from pglast.parser import ParseError

    scope = _encodable(text.replace("\x00", " ") if "\x00" in text else text)
    error: int | None = None
    try:
        parts = split(scope, with_parser=False)
    except ParseError as exc:
        error = _scanner_error(exc)
        scope = scope[:error]
        try:
            parts = split(scope, with_parser=False) if scope.strip() else ()
        except ParseError:  # pragma: no cover - the prefix lexed fine a moment ago
            parts = ()
    spans: list[tuple[int, int]] = []
    pos = 0
    for part in parts:
        if not part:
            continue
        # Only whitespace and ';' separate pieces, so the first match is the piece.
        start = scope.find(part, pos)
        pos = start + len(part)
        spans.append((start, pos))
    return spans, error


def _terminated(text: str, end: int) -> bool:
    """Whether the piece ending at ``end`` is followed by its ``;``."""
    index, size = end, len(text)
    while index < size and text[index].isspace():
        index += 1
    return index < size and text[index] == ";"


def _first_token(text: str, start: int, end: int) -> int:
    """Skip the leading comments of ``text[start:end]``; ``end`` if only comments remain."""
    from pglast.parser import ParseError

    while text.startswith("--", start, end):
        # A "--" comment runs to the next \n or \r (as in PostgreSQL's lexer): the
        # common case, without lexing.
        newline = _line_end(text, start, end)
        if newline < 0:
            return end
        start = newline + 1
        while start < end and text[start] in _SPACE:
            start += 1
    if not text.startswith("/*", start, end):
        return start
    window = 256
    while True:
        # Lex a growing window, not the whole (possibly huge) statement. A token is
        # trusted only if it ends clear of the window's edge, where lexing was cut.
        stop = min(end, start + window)
        try:
            tokens = sql_tokens(text[start:stop])
        except ParseError:
            tokens = []
        for tok in tokens:
            if tok.name not in COMMENT_TOKENS:
                if stop == end or tok.end < stop - start - 2:
                    return start + tok.start
                break
        if stop == end:
            return end
        window *= 8


def _parens_balanced(piece: str) -> bool:
    """Whether no ``)`` token of ``piece`` comes without its ``(`` and all are closed."""
    from pglast.parser import ParseError

    depth = 0
    try:
        tokens = sql_tokens(piece)
    except ParseError:
        return False
    for tok in tokens:
        if tok.name == "ASCII_40":
            depth += 1
        elif tok.name == "ASCII_41":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _is_routine(head: list[str]) -> bool:
    """Whether the first words are CREATE [OR REPLACE] FUNCTION|PROCEDURE."""
    if not head or head[0] != "CREATE":
        return False
    if len(head) > 1 and head[1] in _ROUTINE_WORDS:
        return True
    return head[1:3] == ["OR", "REPLACE"] and len(head) > 3 and head[3] in _ROUTINE_WORDS


def _line_end(text: str, start: int, end: int) -> int:
    """The first \n or \r in ``text[start:end]`` (where a ``--`` comment ends), or -1."""
    newline = text.find("\n", start, end)
    ret = text.find("\r", start, newline if newline >= 0 else end)
    return ret if ret >= 0 else newline


def _walk(
    text: str, base: int, limit: int, ends: list[int] | None = None
) -> tuple[list[tuple[int, int]], int | None]:
    """Split ``text[base:limit]`` token by token, exactly as psql does.

    A ``;`` ends a statement only outside parentheses (CREATE RULE action lists) and
    outside the ``BEGIN ... END`` of a CREATE FUNCTION/PROCEDURE; a stray ``)`` does not
    upset the count. Returns the spans and where an unfinished last statement starts;
    ``ends``, if given, receives the offset of every ``;`` that ends a statement.
    """
    from pglast.parser import ParseError

    try:
        tokens = sql_tokens(text[base:limit])
    except ParseError:
        return [], base + len(text[base:limit]) - len(text[base:limit].lstrip())
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    paren = depth = 0
    head: list[str] = []
    clean: int | None = 0  # where the text since the last statement end is only comments
    for tok in tokens:
        name = tok.name
        if name == "ASCII_59" and paren == 0 and depth == 0:
            if ends is not None and clean is not None:
                ends.append(base + clean)
                ends.append(base + tok.start)
            if start is not None:
                spans.append((base + start, base + end))
            start, head, clean = None, [], tok.end + 1
            continue
        if start is None:
            if name in COMMENT_TOKENS:
                if ends is not None and clean is not None:
                    ends.extend((base + clean, base + tok.start))
                clean = tok.end + 1
                continue
            if ends is not None and clean is not None:
                ends.extend((base + clean, base + tok.start))
            start, clean = tok.start, None
        end = tok.end + 1
        if name == "ASCII_40":
            paren += 1
        elif name == "ASCII_41":
            paren = max(0, paren - 1)
        elif name not in COMMENT_TOKENS and (tok.kind != "NO_KEYWORD" or name == "IDENT"):
            if len(head) < 4:
                head.append(name)
            if paren == 0 and _is_routine(head):
                if name == "BEGIN_P" or (name == "CASE" and depth):
                    depth += 1
                elif name == "END_P" and depth:
                    depth -= 1
    if ends is not None and clean is not None:
        ends.extend((base + clean, limit))
    return spans, None if start is None else base + start


def cut_text(text: str) -> TextCut:
    """Cut ``text`` into statements; see :class:`TextCut`.

    libpg_query's scanner split (fast, in C) does the bulk. From the first piece it may
    get wrong on (``BEGIN ATOMIC``, unbalanced parentheses, an unterminated token, a
    missing final ``;``), :func:`_walk` takes over for the rest of the text.
    """
    pieces, error = _raw_pieces(text)
    limit = len(text) if error is None else error
    spans: list[tuple[int, int]] = []
    rest = 0
    for start, end in pieces:
        if text[rest:start].strip(_SEPARATORS):
            # libpg_query's split leaves out a statement that does not start with a
            # keyword (a typo such as "SELEC 1"); the server must still see it.
            break
        if "atomic" in text[start:end].lower() or not _terminated(text, end):
            break
        if ")" in text[start:end] and not _parens_balanced(text[start:end]):
            break  # libpg_query's split counts a stray ")" where psql ignores it
        spans.append((_first_token(text, start, end), end))
        rest = text.index(";", end) + 1
    more, open_at = _walk(text, rest, limit)
    spans.extend(more)
    if error is not None and open_at is None:
        open_at = error
    return TextCut(spans, open_at, error)


@dataclass
class StatementMarks:
    """Where the statements of a text end, for a reader deciding where lines may start.

    ``clean`` holds ``(start, end)`` ranges of offsets at which the text read so far
    would be complete: after a statement's ``;`` (or at the start), outside comments,
    before the next statement begins. ``first_code`` is where the first token that is
    not a complete comment starts (an unterminated token counts), ``len(text)`` if none.
    """

    clean: list[tuple[int, int]]
    first_code: int

    def complete_at(self, offset: int) -> bool:
        """Whether the text up to ``offset`` holds only complete statements and comments."""
        from bisect import bisect_right

        index = bisect_right(self.clean, (offset, len(self.clean) + offset + 1)) - 1
        return index >= 0 and self.clean[index][0] <= offset <= self.clean[index][1]


def statement_marks(text: str) -> StatementMarks:
    """The :class:`StatementMarks` of ``text``, by the same token walk as :func:`cut_text`."""
    from pglast.parser import ParseError

    scope = text.replace("\x00", " ") if "\x00" in text else text
    limit = len(scope)
    try:
        tokens = sql_tokens(scope)
    except ParseError as exc:
        limit = _scanner_error(exc)
        tokens = sql_tokens(scope[:limit])
    first_code = next((tok.start for tok in tokens if tok.name not in COMMENT_TOKENS), limit)
    bounds: list[int] = []
    _walk(scope, 0, limit, bounds)
    clean = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    return StatementMarks(clean, first_code)


def _lead(text: str, previous_end: int, start: int) -> int:
    """Where the comment block in front of a statement begins (for the cursor).

    A comment on the same line as the previous statement's end belongs to that one.
    """
    gap = text[previous_end:start]
    newline = gap.find("\n")
    if newline < 0:
        return start
    head = previous_end + newline + 1
    for tok in sql_tokens(text[head:start]):
        if tok.name in COMMENT_TOKENS:
            return head + tok.start
    return start


# --------------------------------------------------------------------------- editor text


def split_sql(text: str) -> list[Statement]:
    """The statements of the editor's ``text``, in order, without ``;`` or leading comments.

    Comment-only and empty statements are dropped. If lexing fails (an unterminated
    quote or comment), everything from the failing statement on is one last statement,
    which the server then rejects with a precise position. Like psql, a ``;`` inside
    parentheses or inside a ``BEGIN ATOMIC ... END`` function body does not cut.
    """
    cut = cut_text(text)
    spans = list(cut.spans)
    end = len(text.rstrip(_SEPARATORS[:-1]))  # PostgreSQL's blanks, not Python's
    if cut.open_at is not None and cut.open_at < end:
        spans.append((cut.open_at, end))
    index = LineIndex(text)
    return [Statement.at(text, start, end, index) for start, end in spans]


def statement_at(text: str, cursor: int) -> Statement | None:
    """The statement under ``cursor`` (a character offset), or ``None`` for blank text.

    Inside a statement, or right after it, on its ``;`` and the rest of that line: that
    statement. On the comment lines in front of a statement: that statement. Elsewhere
    between two statements: the one before, as DBeaver does.
    """
    found = split_sql(text)
    if not found:
        return None
    chosen = found[0]
    previous_end = 0
    for stmt in found:
        in_front = cursor >= previous_end and cursor >= _lead(text, previous_end, stmt.start)
        if cursor < stmt.start and not in_front:
            break
        chosen = stmt
        previous_end = stmt.end
    return chosen
