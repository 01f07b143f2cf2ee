"""Plain-SQL dump files (``pg_dump --format=plain``) streamed statement by statement.

A template payload can be far larger than memory, so :func:`read_script` holds one
statement at a time and hands ``COPY ... FROM stdin`` data on as raw byte chunks. The
statements are cut exactly as in the editor (:func:`pg_script.cut_text`), so the safety
scan and the restore see the same statements the server will run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from dbplay_desktop.engines.base import RestoreError
from dbplay_desktop.engines.pg_script import COMMENT_TOKENS, TextCut, cut_text, sql_tokens

#: COPY data is handed on in chunks of about this many bytes.
COPY_CHUNK_SIZE = 256 * 1024


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
        cut = cut_text(joined)
        if cut.open_at is not None:
            if cut.open_token is not None:
                wait_for = _close_hint(joined, cut.open_token)
            continue
        buffer.clear()
        yield from _emit(joined, cut, buffer_line, lines)
    if buffer:
        joined = "".join(buffer)
        cut = cut_text(joined)
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
        return all(tok.name in COMMENT_TOKENS for tok in sql_tokens("".join(buffer)))
    except ParseError:
        return False


def _emit(joined: str, cut: TextCut, first_line: int, lines: _Lines) -> Iterator[ScriptItem]:
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
