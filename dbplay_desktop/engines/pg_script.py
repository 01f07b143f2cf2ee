"""PostgreSQL text cut into statements: the editor's text, and plain-SQL dump files.

Statement boundaries always come from PostgreSQL's own lexer (through pglast), so a ``;``
inside a string, a quoted identifier, a comment or a ``$tag$`` body never cuts a
statement. Two cases the raw scanner split gets wrong are handled like psql does:
SQL-standard function bodies (``BEGIN ATOMIC ... END``) stay one statement, and a
statement whose lexing fails (an unterminated string) is passed on whole, so the
server reports the real error with its position.

:func:`read_script` streams a ``pg_dump --format=plain`` file of any size: it holds one
statement at a time and hands ``COPY ... FROM stdin`` data on as raw byte chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from dbplay_desktop.engines.base import RestoreError, Statement

#: COPY data is handed on in chunks of about this many bytes.
COPY_CHUNK_SIZE = 256 * 1024

_COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_ROUTINE_WORDS = frozenset({"FUNCTION", "PROCEDURE"})
_SPACE = frozenset(" \t\n\r\f\v")
_NON_ASCII = re.compile(r"[^\x01-\x7f]")


class TemplateScriptError(RestoreError):
    """A plain-SQL payload file cannot be read as a script (encoding, truncation).

    The message reads ``path:line: reason``; ``path``, ``line`` and ``reason`` are also
    kept apart for callers that list problems themselves.
    """

    title = "Unreadable template"

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}", line=line)
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class ScriptItem:
    """One step of a plain-SQL script, in file order.

    ``kind`` is ``statement`` (``text`` without its ``;``), ``copy`` (a ``COPY ... FROM
    stdin`` statement; ``data`` yields its raw text-format data lines in byte chunks,
    without the closing ``\\.`` line) or ``meta`` (a psql backslash command line).
    ``line`` is the 1-based line where the item starts.
    """

    kind: str
    text: str
    line: int
    data: Iterator[bytes] | None = field(default=None, repr=False, compare=False)


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
                return scan(text)
    return tokens


def _scanner_error(exc: Exception) -> int:
    """The character index where lexing failed (0 when pglast does not say)."""
    args = getattr(exc, "args", ())
    index = args[1] if len(args) > 1 else None
    return index if isinstance(index, int) and index >= 0 else 0


@dataclass
class _Cut:
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

    scope = text.replace("\x00", " ") if "\x00" in text else text
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
        # A "--" comment runs to the end of its line: the common case, without lexing.
        newline = text.find("\n", start, end)
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
            if tok.name not in _COMMENT_TOKENS:
                if stop == end or tok.end < stop - start - 2:
                    return start + tok.start
                break
        if stop == end:
            return end
        window *= 8


def _is_routine(head: list[str]) -> bool:
    """Whether the first words are CREATE [OR REPLACE] FUNCTION|PROCEDURE."""
    if not head or head[0] != "CREATE":
        return False
    if len(head) > 1 and head[1] in _ROUTINE_WORDS:
        return True
    return head[1:3] == ["OR", "REPLACE"] and len(head) > 3 and head[3] in _ROUTINE_WORDS


def _walk(text: str, base: int, limit: int) -> tuple[list[tuple[int, int]], int | None]:
    """Split ``text[base:limit]`` token by token, exactly as psql does.

    A ``;`` ends a statement only outside parentheses (CREATE RULE action lists) and
    outside the ``BEGIN ... END`` of a CREATE FUNCTION/PROCEDURE; a stray ``)`` does not
    upset the count. Returns the spans and where an unfinished last statement starts.
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
    for tok in tokens:
        name = tok.name
        if name == "ASCII_59" and paren == 0 and depth == 0:
            if start is not None:
                spans.append((base + start, base + end))
            start, head = None, []
            continue
        if start is None:
            if name in _COMMENT_TOKENS:
                continue
            start = tok.start
        end = tok.end + 1
        if name == "ASCII_40":
            paren += 1
        elif name == "ASCII_41":
            paren = max(0, paren - 1)
        elif name not in _COMMENT_TOKENS and (tok.kind != "NO_KEYWORD" or name == "IDENT"):
            if len(head) < 4:
                head.append(name)
            if paren == 0 and _is_routine(head):
                if name == "BEGIN_P" or (name == "CASE" and depth):
                    depth += 1
                elif name == "END_P" and depth:
                    depth -= 1
    return spans, None if start is None else base + start


def _cut(text: str) -> _Cut:
    """Cut ``text`` into statements; see :class:`_Cut`.

    libpg_query's scanner split (fast, in C) does the bulk. From the first piece it may
    get wrong on (``BEGIN ATOMIC``, unbalanced parentheses, an unterminated token, a
    missing final ``;``), :func:`_walk` takes over for the rest of the text.
    """
    pieces, error = _raw_pieces(text)
    limit = len(text) if error is None else error
    spans: list[tuple[int, int]] = []
    rest = 0
    for start, end in pieces:
        if "atomic" in text[start:end].lower() or not _terminated(text, end):
            break
        spans.append((_first_token(text, start, end), end))
        rest = text.index(";", end) + 1
    more, open_at = _walk(text, rest, limit)
    spans.extend(more)
    if error is not None and open_at is None:
        open_at = error
    return _Cut(spans, open_at, error)


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
        if tok.name in _COMMENT_TOKENS:
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
    cut = _cut(text)
    spans = list(cut.spans)
    if cut.open_at is not None and cut.open_at < len(text.rstrip()):
        spans.append((cut.open_at, len(text.rstrip())))
    return list(_located(text, spans))


def _located(text: str, spans: list[tuple[int, int]]) -> Iterator[Statement]:
    """Statements with line and column, counting newlines once (``Statement.at`` would
    count from the start of the text for every statement)."""
    line, counted, line_start = 1, 0, 0
    for start, end in spans:
        newlines = text.count("\n", counted, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, start) + 1
        counted = start
        yield Statement(text[start:end], start, end, line, start - line_start + 1)


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


# --------------------------------------------------------------------------- dump files


class _Lines:
    """Reads a byte stream line by line, counting lines, in bounded pieces."""

    def __init__(self, stream: IO[bytes], path: str) -> None:
        self._readline = stream.readline
        self.path = path
        self.line = 0  # lines fully read so far

    def read_line(self) -> bytes:
        """The next whole line (with its newline), or ``b""`` at the end."""
        parts: list[bytes] = []
        while True:
            part = self._readline(COPY_CHUNK_SIZE)
            if not part:
                break
            parts.append(part)
            if part.endswith(b"\n"):
                break
        data = b"".join(parts)
        if data:
            self.line += 1
        return data

    def read_fragment(self) -> bytes:
        """At most one line, possibly only part of a long one; ``b""`` at the end."""
        part = self._readline(COPY_CHUNK_SIZE)
        if part.endswith(b"\n"):
            self.line += 1
        return part

    def decode(self, raw: bytes, line: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateScriptError(
                self.path, line, f"not valid UTF-8 (byte {exc.start + 1} of the line)"
            ) from None


class _CopyData:
    """The data of one COPY block, streamed; skipping the rest is :meth:`drain`."""

    def __init__(self, lines: _Lines, statement_line: int) -> None:
        self._lines = lines
        self._statement_line = statement_line
        self._at_line_start = True
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.done:
            raise StopIteration
        chunk: list[bytes] = []
        size = 0
        while size < COPY_CHUNK_SIZE:
            part = self._lines.read_fragment()
            if not part:
                self.done = True
                raise TemplateScriptError(
                    self._lines.path,
                    self._statement_line,
                    "COPY data is not ended by a \\. line before the end of the file",
                )
            if self._at_line_start and part.rstrip(b"\r\n") == b"\\.":
                self.done = True
                break
            self._at_line_start = part.endswith(b"\n")
            chunk.append(part)
            size += len(part)
        if not chunk:
            raise StopIteration
        return b"".join(chunk)

    def drain(self) -> None:
        for _chunk in self:
            pass


def _is_copy_from_stdin(sql: str) -> bool:
    """Whether ``sql`` is ``COPY ... FROM STDIN`` (by its parse tree, not its spelling)."""
    if sql[:4].upper() != "COPY":
        return False
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError:
        return False
    stmts = tree.get("stmts", [])
    if len(stmts) != 1:
        return False
    copy = stmts[0].get("stmt", {}).get("CopyStmt")
    return bool(copy and copy.get("is_from") and not copy.get("filename"))


def _close_hint(text: str, index: int) -> str:
    """What must appear before an unterminated token at ``index`` can end."""
    if text.startswith("/*", index):
        return "*/"
    if text.startswith("$", index):
        close = text.find("$", index + 1)
        return text[index : close + 1] if close > index else "$"
    quote = text.find("'", index, index + 3)
    double = text.find('"', index, index + 3)
    if double >= 0 and (quote < 0 or double < quote):
        return '"'
    return "'"


def read_script(stream: IO[bytes], path: str = "<script>") -> Iterator[ScriptItem]:
    """Stream the statements, COPY blocks and psql meta-command lines of a plain-SQL file.

    Memory use is bounded by the largest single statement. Raises
    :class:`TemplateScriptError` (one line, naming ``path:line``) for invalid UTF-8, a
    statement left open at the end of the file, or a COPY block without its ``\\.``.
    """
    lines = _Lines(stream, path)
    buffer: list[str] = []
    buffer_line = 0
    wait_for: str | None = None
    first = True
    while True:
        raw = lines.read_line()
        if not raw:
            break
        text = lines.decode(raw, lines.line)
        if first:
            text = text.removeprefix("\ufeff")
            first = False
        stripped = text.strip()
        if not buffer:
            if not stripped or stripped.startswith("--"):
                continue
            if stripped.startswith("\\"):
                yield ScriptItem("meta", stripped, lines.line)
                continue
            buffer_line = lines.line
        elif stripped.startswith("\\") and _only_comments(buffer):
            buffer.clear()
            yield ScriptItem("meta", stripped, lines.line)
            continue
        buffer.append(text)
        if wait_for is not None:
            if wait_for not in text:
                continue
            wait_for = None
        if not stripped.endswith(";"):
            continue
        joined = "".join(buffer)
        cut = _cut(joined)
        if cut.open_at is not None:
            if cut.open_token is not None:
                wait_for = _close_hint(joined, cut.open_token)
            continue
        buffer.clear()
        yield from _emit(joined, cut, buffer_line, lines)
    if buffer:
        joined = "".join(buffer)
        cut = _cut(joined)
        if cut.open_at is not None:
            line = buffer_line + joined.count("\n", 0, cut.open_at)
            raise TemplateScriptError(
                path, line, "statement is not complete at the end of the file"
            )
        yield from _emit(joined, cut, buffer_line, lines)


def _only_comments(buffer: list[str]) -> bool:
    """Whether the lines read so far hold nothing but a block comment."""
    from pglast.parser import ParseError

    if not buffer[0].lstrip().startswith("/*"):
        return False
    try:
        return all(tok.name in _COMMENT_TOKENS for tok in sql_tokens("".join(buffer)))
    except ParseError:
        return False


def _emit(joined: str, cut: _Cut, first_line: int, lines: _Lines) -> Iterator[ScriptItem]:
    """Yield the statements of a complete buffer; a COPY FROM stdin brings its data."""
    last = len(cut.spans) - 1
    line, counted = first_line, 0
    for number, (start, end) in enumerate(cut.spans):
        sql = joined[start:end]
        line += joined.count("\n", counted, start)
        counted = start
        if not _is_copy_from_stdin(sql):
            yield ScriptItem("statement", sql, line)
            continue
        if number != last:
            raise TemplateScriptError(
                lines.path, line, "COPY ... FROM stdin must be the last statement on its line"
            )
        data = _CopyData(lines, line)
        yield ScriptItem("copy", sql, line, data)
        data.drain()
