"""Cutting SQLite text into statements the way SQLite itself reads it.

A ``;`` ends a statement only outside strings (``'...'`` with ``''`` escapes, ``x'...'``),
quoted identifiers (``"..."``, ``[...]``, `````...`````) and comments (``--`` to the end of
the line, ``/* */``), and inside a ``CREATE TRIGGER ... BEGIN ... END`` body only at the
``END``: whether a trigger statement is finished is asked of
:func:`sqlite3.complete_statement`, SQLite's own answer, and only at a ``;`` that follows
the word ``END``.

:class:`_Cutter` is a small character-level tokenizer (no regular expressions). Inside a
string or comment it jumps to the closing character with ``str.find``; between them it
looks only at the characters that can start a token, found with ``str.find`` too and
remembered, so each stretch of text is searched once per such character: the work is
linear in the text's size (:attr:`_Cutter.steps` counts it). It reads a growing buffer, so
the same cutter serves the editor (:func:`split_sql`, whole text, with positions) and
restores and scans (:func:`read_statements`, a payload stream read in chunks).
"""

from __future__ import annotations

import codecs
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from dbplay_desktop.engines.base import LineIndex, Statement

#: Characters that may start a token other than a plain word: quotes, ``;``, comments.
_OPENERS = "'\"`[;-/"
#: The closing character of each quote; all but ``]`` escape themselves by doubling.
_CLOSERS = {"'": "'", '"': '"', "`": "`", "[": "]"}
#: How many leading words tell a ``CREATE [TEMP] TRIGGER`` statement.
_HEAD_WORDS = 6
_CHUNK = 1 << 20


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


class _Cutter:
    """Finds statement ends in a growing buffer; positions are offsets into the buffer.

    ``mode`` is what the character at ``pos`` is inside: ``""`` (code), a quote opener,
    ``"--"`` or ``"/*"``. ``start`` is where the statement being read began.
    """

    def __init__(self) -> None:
        self.pos = 0
        self.start = 0
        self.mode = ""
        self.words: list[str] = []  # the statement's first words, upper case
        self.last_word = ""  # the last token before ``pos`` when it is a word
        self.steps = 0  # characters searched or looked at (linear in the text)
        self._ahead: dict[str, int] = {}  # opener -> its next position, or where its search ended

    @property
    def is_trigger(self) -> bool:
        head = self.words[:_HEAD_WORDS]
        return "CREATE" in head and "TRIGGER" in head

    def shift(self, offset: int) -> None:
        """The buffer lost its first ``offset`` characters (all before ``start``)."""
        self.pos -= offset
        self.start -= offset
        self._ahead = {char: at - offset for char, at in self._ahead.items()}

    def _find(self, buffer: str, text: str, pos: int) -> int:
        """The next ``text`` at or after ``pos``, or ``len(buffer)``."""
        found = buffer.find(text, pos)
        found = len(buffer) if found < 0 else found
        self.steps += found - pos + 1
        return found

    def _next_opener(self, buffer: str, pos: int) -> int:
        """The next opener at or after ``pos`` (``len(buffer)`` when none).

        Each opener's next position is remembered, and a search that found nothing ended
        at the buffer's end, so no stretch of text is searched twice for one opener.
        """
        size = len(buffer)
        best = size
        for char in _OPENERS:
            at = self._ahead.get(char, -1)
            if at < pos or at >= size or buffer[at] != char:
                at = self._find(buffer, char, max(pos, at))
                self._ahead[char] = at
            best = min(best, at)
        return best

    def _words(self, buffer: str, begin: int, end: int) -> None:
        """Note the words of the code ``buffer[begin:end]``: the first few and the last."""
        if len(self.words) >= _HEAD_WORDS and not self.is_trigger:
            return  # only a trigger's statement needs its last word (``END``)
        pos = begin
        while pos < end and len(self.words) < _HEAD_WORDS:
            self.steps += 1
            if _is_word_char(buffer[pos]) and not buffer[pos].isdigit():
                stop = pos + 1
                while stop < end and _is_word_char(buffer[stop]):
                    stop += 1
                self.steps += stop - pos
                self.words.append(buffer[pos:stop].upper())
                pos = stop
            else:
                pos += 1
        last = end
        while last > begin and buffer[last - 1].isspace():
            last -= 1
            self.steps += 1
        if last == begin:
            return  # only blanks: the last token is unchanged
        first = last
        while first > begin and _is_word_char(buffer[first - 1]) and last - first < 128:
            first -= 1
            self.steps += 1
        word = buffer[first:last]
        self.last_word = word.upper() if word and not word[0].isdigit() else ""

    def cut(self, buffer: str, final: bool) -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` of each statement finished in ``buffer`` (``end`` after ``;``).

        Stops (to be called again with more text) where a token may continue past the
        end of the buffer, unless ``final``.
        """
        size = len(buffer)
        while self.pos < size:
            if self.mode:
                if not self._skip(buffer, final):
                    return
                continue
            found = self._next_opener(buffer, self.pos)
            if found == size and not final:
                # A word at the end may continue in the next chunk: look at it then.
                tail = size
                while tail > self.pos and _is_word_char(buffer[tail - 1]) and size - tail < 128:
                    tail -= 1
                self._words(buffer, self.pos, tail)
                self.pos = tail
                return
            self._words(buffer, self.pos, found)
            self.pos = found
            if found == size:
                return
            char = buffer[found]
            if char in "-/":
                if found + 1 == size and not final:
                    return  # a comment may start with the next chunk's first character
                pair = buffer[found : found + 2]
                if pair in ("--", "/*"):
                    self.mode, self.pos = pair, found + 2
                else:
                    self.last_word, self.pos = "", found + 1
                continue
            if char != ";":
                self.mode, self.pos, self.last_word = char, found + 1, ""
                continue
            self.pos = found + 1
            if self.is_trigger and (
                self.last_word != "END"
                or not sqlite3.complete_statement(buffer[self.start : self.pos])
            ):
                self.last_word = ""
                continue
            yield self.start, self.pos
            self.start, self.words, self.last_word = self.pos, [], ""

    def _skip(self, buffer: str, final: bool) -> bool:
        """Move past the rest of the string or comment at ``pos``; False: more text needed."""
        size = len(buffer)
        mode = self.mode
        if mode == "--":
            found = self._find(buffer, "\n", self.pos)
            self.pos = min(size, found + 1)
            if found < size:
                self.mode = ""
            return found < size or final
        if mode == "/*":
            found = self._find(buffer, "*/", self.pos)
            if found < size:
                self.mode, self.pos = "", found + 2
                return True
            # ``*`` as the last character may end the comment with the next chunk's ``/``.
            self.pos = size if final else max(self.pos, size - 1)
            return final
        closer = _CLOSERS[mode]
        found = self._find(buffer, closer, self.pos)
        if found == size:
            self.pos = size
            return final
        if closer != "]" and found + 1 == size and not final:
            self.pos = found  # a doubled quote (an escape) may continue in the next chunk
            return False
        if closer != "]" and found + 1 < size and buffer[found + 1] == closer:
            self.pos = found + 2  # ``''``: an escaped quote, the string goes on
            return True
        self.mode, self.pos = "", found + 1
        return True


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
    if cutter.start < len(text):
        spans.append((cutter.start, len(text)))
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
        keep = cutter.start
        if keep:
            line += buffer.count("\n", counted, keep)
            counted = 0
            buffer = buffer[keep:]
            cutter.shift(keep)
    first, stop = _trim(buffer, 0, len(buffer))
    if first < stop:
        line += buffer.count("\n", counted, first)
        yield PayloadStatement(buffer[first:stop], line)
