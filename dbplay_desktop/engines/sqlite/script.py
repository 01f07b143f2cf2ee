"""Cutting SQLite text into statements exactly where SQLite itself would.

A statement ends at the first ``;`` after which :func:`sqlite3.complete_statement` (the C
function ``sqlite3_complete``) says the text so far is complete: a ``;`` outside strings
(``'...'``, ``x'...'``), quoted identifiers (``"..."``, ``[...]``, `````...`````) and
comments (``--`` to the end of the line, ``/* */``), and inside a ``CREATE TRIGGER ...
BEGIN ... END`` body only the ``;`` after its ``END``.

:class:`_Cutter` has two ways to find that ``;``, with the same answers. The fast one
finds each next ``;`` with ``str.find`` and asks ``sqlite3.complete_statement`` about the
statement up to it: one pass in C over a statement that holds no ``;`` before its end,
which is what dumps are made of. When a statement keeps asking (``;`` inside strings,
comments or a trigger body) so often that asking again would cost more than
:data:`_ASK_FACTOR` times its length, or holds a character SQLite's C text cannot
carry (NUL), the statement is read instead by a port of ``sqlite3_complete``'s automaton
to Python (no regular expressions) that jumps through strings and comments with
``str.find``. Either way the work is linear in the text (:attr:`_Cutter.steps` counts
it). The cutter reads a growing buffer, so the same code serves the editor
(:func:`split_sql`, whole text, with positions) and restores and scans
(:func:`read_statements`, a payload stream read in chunks).
"""

from __future__ import annotations

import codecs
import sqlite3
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from dbplay_desktop.engines.base import LineIndex, Statement

_CHUNK = 1 << 20
#: Asking ``complete_statement`` again may cost at most this many times the statement's
#: length in all; past that the statement is read by the Python automaton.
_ASK_FACTOR = 8

# The token kinds and states of ``sqlite3_complete`` (SQLite's complete.c).
_SEMI, _WS, _OTHER, _EXPLAIN, _CREATE, _TEMP, _TRIGGER, _END = range(8)
_INVALID, _START, _NORMAL, _IN_EXPLAIN, _IN_CREATE, _IN_TRIGGER, _IN_SEMI, _IN_END = range(8)
#: ``_TRANSITIONS[state][token]``: the next state (complete.c's ``trans`` table).
_TRANSITIONS = (
    (1, 0, 2, 3, 4, 2, 2, 2),  # INVALID
    (1, 1, 2, 3, 4, 2, 2, 2),  # START
    (1, 2, 2, 2, 2, 2, 2, 2),  # NORMAL
    (1, 3, 3, 2, 4, 2, 2, 2),  # EXPLAIN
    (1, 4, 2, 2, 2, 4, 5, 2),  # CREATE
    (6, 5, 5, 5, 5, 5, 5, 5),  # TRIGGER
    (6, 6, 5, 5, 5, 5, 5, 7),  # SEMI
    (1, 7, 5, 5, 5, 5, 5, 5),  # END
)
_KEYWORDS = {"create": _CREATE, "trigger": _TRIGGER, "temp": _TEMP, "temporary": _TEMP,
             "end": _END, "explain": _EXPLAIN}
_LONGEST_KEYWORD = max(len(word) for word in _KEYWORDS)
#: Where only a ``;`` can change the state: words and punctuation are skipped unread.
_SKIMMED = (_NORMAL, _IN_TRIGGER)
#: What sqlite3_complete counts as white space (not ``\v``) and as identifier characters
#: (every character from U+0080 on is one, as each of its UTF-8 bytes is).
_BLANKS = " \t\n\f\r"
_ASCII_ID = frozenset(string.ascii_letters + string.digits + "_$")
#: Where a token that matters may begin in skimmed code, and how it ends.
_OPENERS = (";", "'", '"', "`", "[", "--", "/*")
_CLOSERS = {"'": "'", '"': '"', "`": "`", "[": "]", "--": "\n", "/*": "*/"}


def _is_id(char: str) -> bool:
    return char in _ASCII_ID or char >= "\x80"


class _Cutter:
    """Finds statement ends in a growing buffer; positions are offsets into the buffer.

    ``start`` is where the statement being read began. The fast way remembers where its
    next ``;`` search begins (``_next``); the automaton (``slow``) its position, state and
    the closer of the string or comment it is in (``mode``, ``""`` in code).
    """

    def __init__(self, fast: bool = True) -> None:
        self.fast = fast  # False: always the automaton (tests compare the two)
        self.start = 0
        self.steps = 0  # characters searched or looked at (linear in the text)
        self.slow = not fast
        self._next = 0
        self._asked = 0  # characters complete_statement read for this statement
        self.pos = 0
        self.state = _INVALID
        self.mode = ""
        self._ahead: dict[str, int] = {}  # opener -> its next position, or its search's end

    def shift(self, offset: int) -> None:
        """The buffer lost its first ``offset`` characters (all before ``start``)."""
        self.start -= offset
        self._next -= offset
        self.pos -= offset
        self._ahead = {char: at - offset for char, at in self._ahead.items()}

    def cut(self, buffer: str, final: bool) -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` of each statement finished in ``buffer`` (``end`` after ``;``).

        Stops (to be called again with more text) where a token may continue past the
        end of the buffer, unless ``final``.
        """
        while True:
            end = self._automaton(buffer, final) if self.slow else self._ask(buffer, final)
            if end is None:
                return
            yield self.start, end
            self.start = self._next = self.pos = end
            self.state, self.mode, self._asked, self.slow = _START, "", 0, not self.fast

    def _ask(self, buffer: str, final: bool) -> int | None:
        """The fast way: the first ``;`` up to which SQLite calls the statement complete."""
        size = len(buffer)
        while True:
            semi = buffer.find(";", self._next)
            found = size if semi < 0 else semi
            self.steps += found - self._next + 1
            if semi < 0:
                self._next = size
                return None
            self._next = semi + 1
            length = semi + 1 - self.start
            if self._asked + length > _ASK_FACTOR * length:
                return self._fall_back(buffer, final)
            self._asked += length
            self.steps += length
            try:
                if sqlite3.complete_statement(buffer[self.start : semi + 1]):
                    return semi + 1
            except (ValueError, UnicodeError):  # NUL, or a lone surrogate: C cannot see it
                return self._fall_back(buffer, final)

    def _fall_back(self, buffer: str, final: bool) -> int | None:
        self.slow, self.pos, self.state, self.mode = True, self.start, _INVALID, ""
        return self._automaton(buffer, final)

    def _find(self, buffer: str, text: str, pos: int) -> int:
        """The next ``text`` at or after ``pos``, or ``len(buffer)``."""
        found = buffer.find(text, pos)
        found = len(buffer) if found < 0 else found
        self.steps += found - pos + 1
        return found

    def _next_opener(self, buffer: str, pos: int) -> tuple[int, str]:
        """The next opener at or after ``pos``: ``(len(buffer), "")`` when none.

        Each opener's next position is remembered, and a search that found nothing ended
        at the buffer's end, so no stretch of text is searched twice for one opener.
        """
        size = len(buffer)
        best, which = size, ""
        ahead = self._ahead
        for opener in _OPENERS:
            at = ahead.get(opener, -1)
            if at < pos or not buffer.startswith(opener, at):
                # a two-character opener may straddle the old end of the buffer
                at = self._find(buffer, opener, max(pos, at - len(opener) + 1))
                ahead[opener] = at
            if at < best:
                best, which = at, opener
        return best, which

    def _automaton(self, buffer: str, final: bool) -> int | None:
        """The slow way: sqlite3_complete's automaton, token by token, resumable."""
        size = len(buffer)
        pos, state = self.pos, self.state
        try:
            while True:
                if self.mode:
                    closer = self.mode
                    found = self._find(buffer, closer, pos)
                    if found == size:
                        # keep the last characters: ``*`` may meet its ``/`` in the next chunk
                        pos = max(pos, size - len(closer) + 1)
                        return None
                    pos, self.mode = found + len(closer), ""
                    continue
                if state in _SKIMMED:
                    at, opener = self._next_opener(buffer, pos)
                    if not opener:
                        # a last ``-`` or ``/`` may start a comment with the next chunk
                        pos = size - 1 if size > pos and buffer[-1] in "-/" and not final \
                            else size
                        return None
                    pos = at + len(opener)
                    if opener == ";":
                        state = _TRANSITIONS[state][_SEMI]
                        if state == _START:
                            return pos
                    else:
                        self.mode = _CLOSERS[opener]  # a string or comment: no new state
                    continue
                while pos < size and buffer[pos] in _BLANKS:
                    pos += 1
                    self.steps += 1
                if pos == size:
                    return None
                self.steps += 1
                char = buffer[pos]
                if char == ";":
                    pos += 1
                    state = _TRANSITIONS[state][_SEMI]
                    if state == _START:
                        return pos
                    continue
                if char in "-/":
                    if pos + 1 == size and not final:
                        return None  # a comment may start with the next chunk's first character
                    pair = buffer[pos : pos + 2]
                    if pair in ("--", "/*"):
                        self.mode, pos = _CLOSERS[pair], pos + 2  # white space
                        continue
                    pos += 1
                    state = _TRANSITIONS[state][_OTHER]
                    continue
                if char in _CLOSERS:
                    self.mode, pos = _CLOSERS[char], pos + 1
                    state = _TRANSITIONS[state][_OTHER]
                    continue
                if not _is_id(char):
                    pos += 1
                    state = _TRANSITIONS[state][_OTHER]
                    continue
                stop = pos + 1
                while stop < size and _is_id(buffer[stop]):
                    stop += 1
                self.steps += stop - pos
                if stop == size and not final and stop - pos <= _LONGEST_KEYWORD:
                    return None  # the word may go on in the next chunk
                word = buffer[pos:stop]
                kind = _OTHER
                if len(word) <= _LONGEST_KEYWORD and word.isascii():
                    kind = _KEYWORDS.get(word.lower(), _OTHER)
                state = _TRANSITIONS[state][kind]
                pos = stop
        finally:
            self.pos, self.state = pos, state


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
