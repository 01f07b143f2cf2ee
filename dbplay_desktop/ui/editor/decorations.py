"""What the query editor paints besides the text: the line-number gutter, and the
current line, matching brackets, find matches and error underlines (Qt "extra
selections"), all in colours derived from the palette.

Kept apart from :class:`~.editor.CodeEditor`, which decides *when* these are refreshed;
this module decides *what* they look like. Colours are mixed from the palette, so light
and dark themes both stay readable without a hand-made table per theme.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QPainter,
    QPaintEvent,
    QPalette,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QTextEdit, QWidget

from dbplay_desktop.ui.editor.highlighter import is_dark, literal_kind_at, qt_units
from dbplay_desktop.ui.editor.text import BRACKETS, CLOSERS, matching_bracket, mix

if TYPE_CHECKING:
    from dbplay_desktop.ui.editor.editor import CodeEditor

Colors = dict[str, QColor]


def editor_colors(palette: QPalette) -> Colors:
    """The editor's decoration colours for ``palette`` (light or dark)."""
    dark = is_dark(palette)
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    accent = palette.color(QPalette.ColorRole.Highlight)
    return {
        "current_line": mix(base, accent, 0.10 if dark else 0.07),
        "gutter": mix(base, text, 0.06),
        "gutter_text": mix(base, text, 0.45),
        "gutter_current": text,
        "bracket": mix(base, QColor("#3fb950" if dark else "#8fd18f"), 0.55),
        "bracket_bad": mix(base, QColor("#f85149"), 0.45),
        "search": mix(base, QColor("#d29922" if dark else "#ffd33d"), 0.55),
        "error": QColor("#ff6b6b" if dark else "#d70000"),
        "error_background": mix(base, QColor("#f85149"), 0.16 if dark else 0.10),
    }


def range_selection(
    cursor: QTextCursor, start: int, end: int, fmt: QTextCharFormat
) -> QTextEdit.ExtraSelection:
    """``fmt`` over the Qt document positions ``start..end`` of ``cursor``'s document."""
    selection = QTextEdit.ExtraSelection()
    selection.cursor = QTextCursor(cursor.document())
    selection.cursor.setPosition(start)
    selection.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    selection.format = fmt
    return selection


def current_line_selection(cursor: QTextCursor, colors: Colors) -> QTextEdit.ExtraSelection:
    """The full-width band behind the cursor's line."""
    line = QTextEdit.ExtraSelection()
    line.format.setBackground(colors["current_line"])
    line.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
    line.cursor = QTextCursor(cursor)
    line.cursor.clearSelection()
    return line


def error_selection(mark: QTextCursor, colors: Colors) -> QTextEdit.ExtraSelection:
    """A red wavy underline (and a faint red background) over an error mark."""
    selection = QTextEdit.ExtraSelection()
    selection.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
    selection.format.setUnderlineColor(colors["error"])
    selection.format.setBackground(colors["error_background"])
    selection.cursor = mark
    return selection


def bracket_selections(cursor: QTextCursor, colors: Colors) -> list[QTextEdit.ExtraSelection]:
    """The bracket at (or just before) the cursor and its partner, green when they pair
    up and red when the bracket has none; brackets inside strings and comments don't count."""
    if cursor.hasSelection():
        return []
    block = cursor.block()
    line = qt_units(block.text())
    column = cursor.positionInBlock()
    for at in (column, column - 1):
        if 0 <= at < len(line) and (line[at] in BRACKETS or line[at] in CLOSERS):
            if literal_kind_at(block, at):
                continue
            here = block.position() + at
            match = matching_bracket(block, at)
            found = match is not None
            positions = [here, match] if match is not None else [here]
            fmt = QTextCharFormat()
            fmt.setBackground(colors["bracket" if found else "bracket_bad"])
            return [range_selection(cursor, position, position + 1, fmt) for position in positions]
    return []


# --------------------------------------------------------------------------- gutter


class LineNumberGutter(QWidget):
    """The line numbers left of the text, in the editor's left viewport margin.

    Grows with the number of digits, scrolls with the text and paints only the visible
    lines (the cursor's line brighter); :class:`~.editor.CodeEditor` creates it and
    keeps it in place.
    """

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def width_needed(self) -> int:
        """Pixels for the widest line number (at least two digits, so it rarely jumps)."""
        editor = self._editor
        digits = max(2, len(str(max(1, editor.blockCount()))))
        return 14 + editor.fontMetrics().horizontalAdvance("9") * digits

    def sizeHint(self) -> QSize:
        return QSize(self.width_needed(), 0)

    def update_width(self, *_args: object) -> None:
        """Make room for the gutter in the editor's viewport margin (on ``blockCountChanged``)."""
        self._editor.setViewportMargins(self.width_needed(), 0, 0, 0)

    def place(self) -> None:
        """Cover the left margin of the editor's contents (after a resize)."""
        contents = self._editor.contentsRect()
        self.setGeometry(
            QRect(contents.left(), contents.top(), self.width_needed(), contents.height())
        )

    def follow(self, rect: QRect, dy: int) -> None:
        """Scroll or repaint along with the text area (the editor's ``updateRequest``)."""
        if dy:
            self.scroll(0, dy)
        else:
            self.update(0, rect.y(), self.width(), rect.height())
        if rect.contains(self._editor.viewport().rect()):
            self.update_width()

    def paintEvent(self, event: QPaintEvent) -> None:
        editor = self._editor
        colors = editor.colors
        painter = QPainter(self)
        painter.fillRect(event.rect(), colors["gutter"])
        painter.setFont(editor.font())
        current = editor.textCursor().blockNumber()
        block = editor.firstVisibleBlock()
        number = block.blockNumber()
        offset = editor.contentOffset()
        top = round(editor.blockBoundingGeometry(block).translated(offset).top())
        bottom = top + round(editor.blockBoundingRect(block).height())
        width = self.width() - 8
        line_height = editor.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                painter.setPen(colors["gutter_current" if number == current else "gutter_text"])
                painter.drawText(
                    0, top, width, line_height, Qt.AlignmentFlag.AlignRight, str(number + 1)
                )
            block = block.next()
            top = bottom
            bottom = top + round(editor.blockBoundingRect(block).height())
            number += 1
        painter.end()
