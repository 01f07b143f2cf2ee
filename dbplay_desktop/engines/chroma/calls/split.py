"""Cutting Chroma call text into statements by Python's own rules, with :mod:`ast`.

One statement per line or per ``;``; a call whose brackets stay open runs on over the next
lines; comments are no statements. Python's parser says where each top-level statement
starts and ends (line and UTF-8 byte column); :class:`PySource` turns that into character
offsets into the original text, with Python's line breaks (``\\r\\n``, ``\\r``, ``\\n``).

Pure and fast: the editor calls it on the UI thread. Never raises: when the text does not
parse, :mod:`tokenize` cuts it instead (at each logical line and ``;``) as far as it can
read, and whatever follows is one last statement, for the parser to refuse.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from bisect import bisect_right
from functools import lru_cache

from dbplay_desktop.engines.base import LineIndex, Statement

#: Beyond this many characters the text is one statement: Python's parser would take
#: seconds on the UI thread; the call parser (on a worker) still cuts it into its calls.
MAX_SPLIT = 1024 * 1024
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")
_SKIPPED_TOKENS = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                             tokenize.ENDMARKER, tokenize.ENCODING})


class PySource:
    """A text as Python numbers it: lines split at ``\\r\\n``, ``\\r`` or ``\\n``.

    Turns Python's ``(line, byte column)`` (what :mod:`ast` gives) or ``(line, character
    column)`` (what :mod:`tokenize` and :class:`SyntaxError` give) into character offsets.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        if "\r" in text:
            at, size = 0, len(text)
            while at < size:
                char = text[at]
                if char == "\n":
                    starts.append(at + 1)
                elif char == "\r":
                    if at + 1 < size and text[at + 1] == "\n":
                        at += 1
                    starts.append(at + 1)
                at += 1
        else:
            find = text.find
            newline = find("\n")
            while newline >= 0:
                starts.append(newline + 1)
                newline = find("\n", newline + 1)
        self.starts = starts

    def line_start(self, lineno: int) -> int:
        """The offset where 1-based line ``lineno`` starts (clamped to the text)."""
        if lineno < 1:
            return 0
        if lineno > len(self.starts):
            return len(self.text)
        return self.starts[lineno - 1]

    def line_end(self, lineno: int) -> int:
        """The offset just past 1-based line ``lineno``'s last character (before its break)."""
        if lineno < len(self.starts):
            end = self.starts[lineno]
            end -= 1
            if end > 0 and self.text[end - 1] == "\r" and self.text[end] == "\n":
                end -= 1
            return max(end, self.line_start(lineno))
        return len(self.text)

    def char_offset(self, lineno: int, column: int) -> int:
        """The offset of 0-based *character* ``column`` on line ``lineno``."""
        start = self.line_start(lineno)
        return min(start + max(column, 0), self.line_end(lineno))

    def byte_offset(self, lineno: int, column: int) -> int:
        """The offset of 0-based UTF-8 *byte* ``column`` on line ``lineno``."""
        start = self.line_start(lineno)
        end = self.line_end(lineno)
        line = self.text[start:end]
        if line.isascii():
            return min(start + max(column, 0), end)
        head = line.encode("utf-8", "surrogatepass")[:max(column, 0)]
        return start + len(head.decode("utf-8", "ignore"))

    def line_of(self, offset: int) -> int:
        """The 1-based Python line of ``offset``."""
        return max(1, bisect_right(self.starts, offset))


def quiet_parse(text: str) -> ast.Module:
    """:func:`ast.parse` without the SyntaxWarnings it prints (``1if``, ``"\\d"``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text)


def split_calls(text: str) -> list[Statement]:
    """The statements of the editor's ``text``, in order, without comments or ``;``."""
    return list(_split_cached(text))


@lru_cache(maxsize=8)
def _split_cached(text: str) -> tuple[Statement, ...]:
    """The editor asks again for the same text (marks, run, cursor): cut it once."""
    try:
        return tuple(_split(text))
    except Exception:  # never raise on the UI thread: the whole text, for the parser
        return tuple(_whole(text, 0))


def _whole(text: str, start: int, index: LineIndex | None = None) -> list[Statement]:
    """``text[start:]`` without the whitespace around it, as one statement (or none)."""
    end = len(text.rstrip())
    while start < end and text[start].isspace():
        start += 1
    return [Statement.at(text, start, end, index)] if start < end else []


def _split(text: str) -> list[Statement]:
    if not text.strip():
        return []
    if len(text) > MAX_SPLIT:
        return _whole(text, 0)
    source = PySource(text)
    try:
        module = quiet_parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return _split_tokens(text, source)
    index = LineIndex(text)
    statements = []
    for node in module.body:
        start = source.byte_offset(node.lineno, node.col_offset)
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            first = decorators[0]
            at = text.rfind("@", 0, source.byte_offset(first.lineno, first.col_offset))
            start = min(start, at) if at >= 0 else start
        end = source.byte_offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
        if start < end:
            statements.append(Statement.at(text, start, end, index))
    return statements


def _split_tokens(text: str, source: PySource) -> list[Statement]:
    """Cut a text that does not parse at each logical line and top-level ``;``.

    Statements tokenize reads through stand alone (the parser will say what is wrong with
    the bad one); from where it stops, the rest of the text is one statement.
    """
    index = LineIndex(text)
    statements: list[Statement] = []
    depth = 0
    first = last = -1  # offsets of the current statement's first and last characters

    def cut() -> None:
        nonlocal first, last
        if first >= 0 and first < last:
            statements.append(Statement.at(text, first, last, index))
        first = last = -1

    readline = io.StringIO(text, newline="").readline
    try:
        for token in tokenize.generate_tokens(readline):
            kind, string = token.type, token.string
            if kind in _SKIPPED_TOKENS:
                continue
            if kind == tokenize.NEWLINE:
                cut()
                depth = 0
                continue
            if kind == tokenize.ERRORTOKEN and string.isspace():
                if "\r" in string and depth == 0:
                    cut()  # a lone \r ends a line for Python's parser, not for tokenize
                continue
            if kind == tokenize.OP:
                if string == ";" and depth == 0:
                    cut()
                    continue
                if string in _OPEN:
                    depth += 1
                elif string in _CLOSE:
                    depth = max(0, depth - 1)
            start = source.char_offset(*token.start)
            if first < 0:
                first = start
            last = max(last, source.char_offset(*token.end))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        rest = first if first >= 0 else (
            statements[-1].end if statements else 0)
        statements.extend(_whole(text, rest, index))
        return statements
    cut()
    return statements
