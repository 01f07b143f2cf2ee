"""Text helpers for the query editor: offsets, statements under the cursor, brackets.

Qt counts positions in UTF-16 units, Python strings in code points; the two differ only
for characters outside the Basic Multilingual Plane (emoji), so the conversions here are
free for ASCII and BMP text.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QTextBlock

from dbplay_desktop.engines.base import Statement
from dbplay_desktop.ui.editor.highlighter import _ASTRAL, literal_kind_at, qt_units

BRACKETS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {v: k for k, v in BRACKETS.items()}
_BRACKET_SCAN_LIMIT = 20_000  # characters searched for a matching bracket


def qt_to_py(text: str, position: int) -> int:
    """A Qt (UTF-16) position in ``text`` as a Python string index."""
    if text.isascii():
        return position
    shift = 0
    for match in _ASTRAL.finditer(text):
        if match.start() + shift >= position:
            break
        shift += 1
    return position - shift


def py_to_qt(text: str, index: int) -> int:
    """A Python string index in ``text`` as a Qt (UTF-16) position."""
    if text.isascii():
        return index
    return index + sum(1 for _ in _ASTRAL.finditer(text, 0, index))


def whole_text_split(text: str) -> list[Statement]:
    """The whole text as one statement (no language, or one without a splitter)."""
    body = text.strip()
    if not body:
        return []
    start = len(text) - len(text.lstrip())
    return [Statement.at(text, start, start + len(body))]


def statement_at(statements: list[Statement], index: int) -> Statement | None:
    """The statement containing ``index``, else the nearest one before, else the first after."""
    before: Statement | None = None
    for statement in statements:
        if statement.start <= index < statement.end:
            return statement
        if statement.end <= index:
            before = statement
        elif before is None:
            return statement
        else:
            break
    return before


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    """``a`` moved ``amount`` (0..1) of the way towards ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * amount),
        round(a.green() + (b.green() - a.green()) * amount),
        round(a.blue() + (b.blue() - a.blue()) * amount),
    )


def matching_bracket(block: QTextBlock, column: int) -> int | None:
    """The document position of the bracket matching the one at ``column``."""
    line = qt_units(block.text())
    char = line[column]
    forward = char in BRACKETS
    partner = BRACKETS[char] if forward else CLOSERS[char]
    depth = 0
    budget = _BRACKET_SCAN_LIMIT
    at = column
    while block.isValid() and budget > 0:
        indices = range(at, len(line)) if forward else range(at, -1, -1)
        for index in indices:
            current = line[index]
            if current != char and current != partner:
                continue
            if literal_kind_at(block, index):
                continue
            depth += 1 if current == char else -1
            if depth == 0:
                return block.position() + index
        budget -= len(line) + 1
        block = block.next() if forward else block.previous()
        if block.isValid():
            line = qt_units(block.text())
            at = 0 if forward else len(line) - 1
    return None
