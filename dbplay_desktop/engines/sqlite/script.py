"""Cutting SQLite text into statements the way SQLite itself reads it.

A ``;`` ends a statement only outside strings (``'...'``, ``x'...'``), quoted identifiers
(``"..."``, ``[...]``, `````...`````) and comments (``--``, ``/* */``), and inside a
``CREATE TRIGGER ... BEGIN ... END`` body only at the ``END``. A regular expression finds
the few characters that matter, so a long payload is cut in linear time; whether a
trigger statement is finished is asked of :func:`sqlite3.complete_statement`, SQLite's own
answer, and only at a ``;`` that follows the word ``END``.

The same cutter serves the editor (:func:`split_sql`, whole text, with positions) and
restores and scans (:func:`read_statements`, a payload stream read in chunks).
"""

from __future__ import annotations

import codecs
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from dbplay_desktop.engines.base import LineIndex, Statement

# Strings, quoted identifiers and comments (each possibly unterminated), a ``;``, or a
# lone ``-`` or ``/`` (which may start a comment in the next chunk of a stream).
_SPECIAL = re.compile(
    r"""'(?:[^']|'')*'?"""
    r'''|"(?:[^"]|"")*"?'''
    r"""|`(?:[^`]|``)*`?"""
    r"""|\[[^\]]*\]?"""
    r"""|--[^\n]*"""
    r"""|/\*(?:[^*]|\*(?!/))*(?:\*/)?"""
    r"""|;|-|/""",
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*|[^\sA-Za-z_]")
_CHUNK = 1 << 20


@dataclass
class _State:
    """Where the statement being read started and what its words say so far."""

    start: int
    words: list[str]
    last_word: str = ""

    @property
    def is_trigger(self) -> bool:
        head = self.words[:6]
        return "CREATE" in head and "TRIGGER" in head


class _Cutter:
    """Finds statement ends in a growing buffer; positions are offsets into the buffer."""

    def __init__(self) -> None:
        self.pos = 0
        self.state = _State(0, [])

    def _words(self, gap: str) -> None:
        state = self.state
        if len(state.words) >= 6 and not state.is_trigger:
            return  # only a trigger's statement needs its last word (``END``)
        if not gap or gap.isspace():
            return
        if len(state.words) < 6:
            found = _WORD.findall(gap)
            state.words.extend(w.upper() for w in found[: 6 - len(state.words)])
        tokens = _TOKEN.findall(gap[-80:])
        last = tokens[-1] if tokens else ""
        state.last_word = last.upper() if _WORD.fullmatch(last) else ""

    def cut(self, buffer: str, final: bool) -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` of each statement finished in ``buffer`` (``end`` after ``;``).

        Stops early (to be called again with more text) when a token may continue past
        the end of the buffer, unless ``final``.
        """
        size = len(buffer)
        for match in _SPECIAL.finditer(buffer, self.pos):
            if not final and match.end() >= size - 1:
                self._words(buffer[self.pos : match.start()])
                self.pos = match.start()
                return
            self._words(buffer[self.pos : match.start()])
            token = match.group()
            self.pos = match.end()
            if token != ";":
                if token[0] in "'\"`[":
                    self.state.last_word = ""
                continue
            state = self.state
            if state.is_trigger:
                if state.last_word != "END":
                    state.last_word = ""
                    continue
                if not sqlite3.complete_statement(buffer[state.start : match.end()]):
                    state.last_word = ""
                    continue
            yield state.start, match.end()
            self.state = _State(match.end(), [])
        if final:
            self._words(buffer[self.pos :])
        else:
            # Keep a word that may continue in the next chunk out of the words seen.
            tail = size
            while tail > self.pos and (buffer[tail - 1].isalnum() or buffer[tail - 1] in "_$"):
                tail -= 1
            self._words(buffer[self.pos : tail])
            self.pos = tail
        return


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``start``/``end`` without leading blanks and comments and the trailing ``;``."""
    while True:
        while start < end and text[start].isspace():
            start += 1
        if text.startswith("--", start):
            newline = text.find("\n", start, end)
            start = end if newline < 0 else newline + 1
        elif text.startswith("/*", start):
            close = text.find("*/", start + 2, end)
            start = end if close < 0 else close + 2
        else:
            break
    if end > start and text[end - 1] == ";":
        end -= 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sql(text: str) -> list[Statement]:
    """The editor's statements, in order, without ``;`` or leading comments.

    An unfinished last statement (no ``;``, an open string or trigger body) is kept as
    one last statement, which SQLite then rejects with its own message.
    """
    cutter = _Cutter()
    spans = list(cutter.cut(text, final=True))
    if cutter.state.start < len(text):
        spans.append((cutter.state.start, len(text)))
    index = LineIndex(text)
    statements = []
    for start, end in spans:
        start, end = _trim(text, start, end)
        if start < end:
            statements.append(Statement.at(text, start, end, index))
    return statements


@dataclass(frozen=True)
class PayloadStatement:
    """A payload statement: its text (no ``;``) and the 1-based line it starts on."""

    text: str
    line: int


def read_statements(stream: IO[bytes], chunk: int = _CHUNK) -> Iterator[PayloadStatement]:
    """The statements of a UTF-8 payload stream, read ``chunk`` bytes at a time.

    Raises :class:`UnicodeDecodeError` for bytes that are not UTF-8. A trailing
    statement without ``;`` is yielded too (SQLite will judge it).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    buffer = ""
    line, counted = 1, 0  # the line of buffer[counted]
    cutter = _Cutter()
    final = False
    while not final:
        data = stream.read(chunk)
        final = not data
        buffer += decoder.decode(data or b"", final=final)
        for start, end in cutter.cut(buffer, final):
            first, stop = _trim(buffer, start, end)
            if first < stop:
                line += buffer.count("\n", counted, first)
                counted = first
                yield PayloadStatement(buffer[first:stop], line)
        keep = cutter.state.start
        if keep:
            line += buffer.count("\n", counted, keep)
            counted = 0
            buffer = buffer[keep:]
            cutter.pos -= keep
            cutter.state.start = 0
    first, stop = _trim(buffer, 0, len(buffer))
    if first < stop:
        line += buffer.count("\n", counted, first)
        yield PayloadStatement(buffer[first:stop], line)
