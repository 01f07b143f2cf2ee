"""Shared by the editor tests: a fresh editor, and reading the highlighter's formats."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextCharFormat

from dbplay_desktop.ui.editor.editor import CodeEditor
from dbplay_desktop.ui.editor.highlighter import LITERAL_PROPERTY


def new_editor(qtbot) -> CodeEditor:
    """A PostgreSQL editor of a usual size, not shown (closed by qtbot after the test)."""
    widget = CodeEditor(language="postgresql")
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    return widget


def formats_of(block) -> list[tuple[int, int, QFont.Weight, str, str]]:
    return [
        (r.start, r.length, r.format.fontWeight(), r.format.foreground().color().name(),
         str(r.format.property(LITERAL_PROPERTY) or ""))
        for r in block.layout().formats()
    ]  # fmt: skip


def format_at(editor: CodeEditor, line: int, column: int):
    block = editor.document().findBlockByNumber(line)
    for r in block.layout().formats():
        if r.start <= column < r.start + r.length:
            return QTextCharFormat(r.format)
    return None


def settle(qtbot, editor: CodeEditor, timeout: int = 20_000) -> None:
    """Let deferred highlighting finish."""
    qtbot.waitUntil(lambda: not editor.highlighter.pending(), timeout=timeout)


def put_cursor(editor: CodeEditor, position: int) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(position)
    editor.setTextCursor(cursor)
