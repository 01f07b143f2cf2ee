"""Plain-SQL dump files (``pg_dump --format=plain``) streamed statement by statement.

A template payload can be far larger than memory, so :func:`read_script` holds one
statement at a time (at most :data:`MAX_STATEMENT_CHARS`) and hands ``COPY ... FROM
stdin`` data on as raw byte chunks. The statements are cut exactly as in the editor
(:func:`pg_script.cut_text`), so the safety scan and the restore see the same statements
the server will run.

Reading stays linear in the file's size. A statement is cut again only when a line could
end it, and while it stays open (a long string whose lines end in ``;``) only as often as
its length doubles. Lines read past the true end of a statement in the meantime are put
back and read again, so a COPY's data or a meta-command line after it is never taken for
SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from dbplay_desktop.engines.base import RestoreError
from dbplay_desktop.engines.postgres.script import TextCut, cut_text, statement_marks
from dbplay_desktop.engines.postgres.script_lines import SQL_SPACE, Lines

#: COPY data is handed on in blocks of about this many bytes (whole lines where they fit).
COPY_BLOCK_SIZE = 1024 * 1024
#: The end marker of COPY data is looked for in pieces of at most this many bytes of a
#: line (a longer line is data, whatever it ends with).
COPY_CHUNK_SIZE = 256 * 1024
#: The longest statement (in characters) a script may hold; longer ones are refused,
#: which bounds the memory of reading and of the safety scan's parse tree.
MAX_STATEMENT_CHARS = 1024 * 1024
#: A statement is cut again only while all its cuts so far total at most this many
#: times its length (which keeps the cutting linear).
_CUT_BUDGET = 2


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
    stdin`` statement; ``data`` yields its raw text-format data lines in byte blocks,
    without the closing ``\\.`` line) or ``meta`` (a psql backslash command line).
    ``line`` is the 1-based line where the item starts.
    """

    kind: str
    text: str
    line: int
    data: Iterator[bytes] | None = field(default=None, repr=False, compare=False)


class _CopyData:
    """The data of one COPY block, streamed; skipping the rest is :meth:`drain`."""

    def __init__(self, lines: Lines, path: str, statement_line: int) -> None:
        self._lines = lines
        self._path = path
        self._statement_line = statement_line
        self._at_line_start = True
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.done:
            raise StopIteration
        lines = self._lines
        if lines.has_put_back:  # lines read ahead: looked at one by one, as ever
            part = lines.read_fragment(COPY_CHUNK_SIZE)
            state = "eof" if not part else "data"
            if self._at_line_start and part.rstrip(b"\r\n") == b"\\.":
                state = "end"
            data = part
        else:
            data, state = lines.read_copy(COPY_BLOCK_SIZE, COPY_CHUNK_SIZE,
                                          self._at_line_start)
        if state == "end":
            self.done = True
            raise StopIteration
        if state == "eof":
            self.done = True
            raise TemplateScriptError(
                self._path,
                self._statement_line,
                "COPY data is not ended by a \\. line before the end of the file",
            )
        self._at_line_start = data.endswith(b"\n")
        return data

    def drain(self) -> None:
        for _chunk in self:
            pass


def _is_copy_from_stdin(sql: str) -> bool:
    """Whether ``sql`` is ``COPY ... FROM STDIN`` (by its parse tree, not its spelling)."""
    if sql[:4].upper() != "COPY":
        return False
    from pglast.parser import ParseError, parse_sql_json

    from dbplay_desktop.engines.postgres.json_tree import loads

    try:
        tree = loads(parse_sql_json(sql))
    except (ParseError, json.JSONDecodeError, ValueError):
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


def _is_comment_line(stripped: str) -> bool:
    """Whether a line is one ``--`` comment: it ends at a \\r too, so text after one runs."""
    return stripped.startswith("--") and "\r" not in stripped


def read_script(stream: IO[bytes], path: str = "<script>") -> Iterator[ScriptItem]:
    """Stream the statements, COPY blocks and psql meta-command lines of a plain-SQL file.

    Memory use is bounded by the largest single statement. Raises
    :class:`TemplateScriptError` (one line, naming ``path:line``) for invalid UTF-8, a
    statement left open at the end of the file or longer than
    :data:`MAX_STATEMENT_CHARS`, or a COPY block without its ``\\.``.
    """
    return _Reader(stream, path).items()


class _Reader:
    """The state of one :func:`read_script`: the lines of the statement being read."""

    def __init__(self, stream: IO[bytes], path: str) -> None:
        self.lines = Lines(stream)
        self.path = path
        self._reset()

    def _reset(self) -> None:
        self.parts: list[str] = []  # the statement's text so far, piece by piece
        self.starts: list[int] = []  # where each piece starts in the joined text
        self.line_of: list[int] = []  # the file line of each piece
        self.size = 0
        self.cut_so_far = 0  # characters cut for this statement
        self.wait_for: str | None = None
        self.deferred = False  # a line that might have ended it was not looked at

    # -- lines in ------------------------------------------------------------------
    def items(self) -> Iterator[ScriptItem]:
        self.lines.skip_bom()
        while True:
            yield from self._read_lines()
            if not self.parts:
                return
            if (yield from self._settle()):
                continue  # lines were put back: read them again
            joined = "".join(self.parts)
            cut = cut_text(joined)
            if cut.open_at is not None:
                line = self._line_at(joined, cut.open_at)
                raise TemplateScriptError(
                    self.path, line, "statement is not complete at the end of the file"
                )
            first = self.line_of[0]
            self._reset()
            yield from self._emit(joined, cut, first)
            return

    def _read_lines(self) -> Iterator[ScriptItem]:
        """Read to the end of the stream, emitting what is complete on the way."""
        lines = self.lines
        while True:
            if not self.parts:
                lines.skip_space()
            elif plain := lines.read_plain(MAX_STATEMENT_CHARS + 1 - self.size):
                number = lines.line - plain.count(b"\n") + 1
                text = self._decode(plain, number)
                self._append(text, number)
                if self.wait_for is not None and self.wait_for in text:
                    self.wait_for = None
                yield from self._check_size()
                continue
            number = lines.line + 1
            raw = lines.read_line(MAX_STATEMENT_CHARS + 1)
            if not raw:
                return
            try:
                text = self._decode(raw, number)
            except TemplateScriptError:
                if not self.parts or not (yield from self._settle(raw)):
                    raise
                continue
            yield from self._line(text, raw, number)

    def _line(self, text: str, raw: bytes, number: int) -> Iterator[ScriptItem]:
        stripped = text.strip(SQL_SPACE)
        if not self.parts:
            if not stripped or _is_comment_line(stripped):
                if len(raw) > MAX_STATEMENT_CHARS and not raw.endswith(b"\n"):
                    # the rest of the line is not a new line: refuse rather than guess
                    raise TemplateScriptError(
                        self.path, number, f"line is longer than {MAX_STATEMENT_CHARS} characters"
                    )
                return
            if stripped.startswith("\\"):
                yield ScriptItem("meta", stripped, number)
                return
        self._append(text, number)
        yield from self._check_size()
        if not self.parts:
            return
        if stripped.startswith("\\") and len(self.parts) > 1:
            yield from self._maybe_meta(stripped)
            if not self.parts:
                return
        if self.wait_for is not None:
            if self.wait_for not in text:
                return
            self.wait_for = None
        if stripped.endswith(";"):
            yield from self._maybe_end()

    def _append(self, text: str, number: int) -> None:
        self.starts.append(self.size)
        self.line_of.append(number)
        self.parts.append(text)
        self.size += len(text)

    def _decode(self, raw: bytes, line: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line += raw.count(b"\n", 0, exc.start)
            column = exc.start - raw.rfind(b"\n", 0, exc.start)
            raise TemplateScriptError(
                self.path, line, f"not valid UTF-8 (byte {column} of the line)"
            ) from None

    def _line_at(self, joined: str, offset: int) -> int:
        """The file line of character ``offset`` of the joined statement text."""
        from bisect import bisect_right

        piece = max(0, bisect_right(self.starts, offset) - 1)
        return self.line_of[piece] + joined.count("\n", self.starts[piece], offset)

    # -- deciding where statements end ------------------------------------------------
    def _may_cut(self) -> bool:
        """Whether cutting again stays within the budget (else the line is deferred)."""
        if self.cut_so_far > _CUT_BUDGET * self.size:
            self.deferred = True
            return False
        self.cut_so_far += self.size
        return True

    def _maybe_end(self) -> Iterator[ScriptItem]:
        """A line ending in ``;`` was added: emit the statements if they are complete."""
        if self.deferred:
            if self._may_cut():
                yield from self._settle()
            return
        if not self._may_cut():
            return
        joined = "".join(self.parts)
        cut = cut_text(joined)
        if cut.open_at is None:
            first = self.line_of[0]
            self._reset()
            yield from self._emit(joined, cut, first)
        elif cut.open_token is not None:
            self.wait_for = _close_hint(joined, cut.open_token)

    def _maybe_meta(self, stripped: str) -> Iterator[ScriptItem]:
        """A ``\\`` line was added: a meta-command if only comments come before it."""
        head = self.parts[0].lstrip(SQL_SPACE)
        if not head.startswith(("/*", "--")) or self.wait_for is not None:
            return  # code (or a still open comment) comes first: it is SQL text
        if self.deferred:
            if self._may_cut():
                yield from self._settle()
            return
        if not self._may_cut():
            return
        before = "".join(self.parts[:-1])
        if statement_marks(before).first_code >= len(before):
            number = self.line_of[-1]
            self._reset()
            yield ScriptItem("meta", stripped, number)

    def _check_size(self) -> Iterator[ScriptItem]:
        if self.size <= MAX_STATEMENT_CHARS:
            return
        if (yield from self._settle()):
            return
        raise TemplateScriptError(
            self.path,
            self.line_of[0],
            f"statement is longer than {MAX_STATEMENT_CHARS} characters "
            "(the most one template statement may hold)",
        )

    def _settle(self, extra: bytes | None = None) -> Iterator[ScriptItem]:
        """Find the first line where the buffered text could have ended a statement or
        held a meta-command, as if every line had been looked at; emit up to there and
        put the rest (and ``extra``, a line not yet taken) back. True if it found one.
        """
        joined = "".join(self.parts)
        marks = statement_marks(joined)
        for index, text in enumerate(self.parts):
            stripped = text.rstrip(SQL_SPACE)
            start = self.starts[index]
            lead = stripped.lstrip(SQL_SPACE)
            backslash = start + len(stripped) - len(lead)
            if index and lead.startswith("\\") and marks.first_code == backslash:
                yield from self._split(index, extra, meta=lead)
                return True
            if stripped.endswith(";") and marks.complete_at(start + len(text)):
                yield from self._split(index + 1, extra)
                return True
        return False

    def _split(
        self, index: int, extra: bytes | None, meta: str | None = None
    ) -> Iterator[ScriptItem]:
        """Keep pieces before ``index`` (statements, or comments before a meta line)."""
        kept = "".join(self.parts[:index])
        first, meta_line = self.line_of[0], self.line_of[index] if meta else 0
        rest = [part.encode("utf-8") for part in self.parts[index + (1 if meta else 0) :]]
        if extra is not None:
            rest.append(extra)
        self._reset()
        self.lines.unread(rest)
        if meta is not None:
            yield ScriptItem("meta", meta, meta_line)
            return
        yield from self._emit(kept, cut_text(kept), first)

    # -- items out -----------------------------------------------------------------
    def _emit(self, joined: str, cut: TextCut, first_line: int) -> Iterator[ScriptItem]:
        """Yield the statements of a complete text; a COPY FROM stdin brings its data."""
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
                    self.path, line, "COPY ... FROM stdin must be the last statement on its line"
                )
            data = _CopyData(self.lines, self.path, line)
            yield ScriptItem("copy", sql, line, data)
            data.drain()
