"""The query editor's keyboard bindings and line-editing commands.

These work on a :class:`~PySide6.QtGui.QTextCursor` and its document rather than on the
editor widget, so :class:`~.editor.CodeEditor` stays about wiring and each command is one
undo step that can be read (and changed) on its own: toggle comments, indent / outdent,
a new line that keeps the indentation, and reformatting with the language's formatter.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QTextBlock, QTextCursor

from dbplay_desktop.ui.editor.highlighter import qt_units

TAB_WIDTH = 4


def key_command(event: QKeyEvent) -> str | None:
    """The editor command bound to a key press, if any.

    ``run_current``, ``run_all``, ``escape``, ``comment``, ``complete``, ``find`` or
    ``replace``; the editor claims these keys before window shortcuts can take them.
    """
    key = event.key()
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
    shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
    alt = bool(mods & Qt.KeyboardModifier.AltModifier)
    if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and ctrl and not alt:
        return "run_all" if shift else "run_current"
    if key == Qt.Key.Key_Escape and not mods:
        return "escape"
    if ctrl and not alt and key in (Qt.Key.Key_Slash, Qt.Key.Key_Question):
        return "comment"
    if ctrl and not alt and not shift and key == Qt.Key.Key_Space:
        return "complete"
    if ctrl and not alt and not shift and key == Qt.Key.Key_F:
        return "find"
    if ctrl and not alt and not shift and key == Qt.Key.Key_H:
        return "replace"
    return None


def selected_blocks(cursor: QTextCursor) -> list[QTextBlock]:
    """The lines a line command acts on: those the selection touches, else the cursor's.

    A selection ending at the very start of a line leaves that line out, as editors do.
    """
    doc = cursor.document()
    first = doc.findBlock(cursor.selectionStart())
    last = doc.findBlock(cursor.selectionEnd())
    if cursor.hasSelection() and last != first and cursor.selectionEnd() == last.position():
        last = last.previous()
    blocks = [first]
    while blocks[-1] != last and blocks[-1].next().isValid():
        blocks.append(blocks[-1].next())
    return blocks


def toggle_comment(cursor: QTextCursor, prefix: str) -> None:
    """Comment or uncomment the selected lines (or the cursor's line) as one undo step.

    Uncomments when every non-blank line already starts with ``prefix``; otherwise
    comments them all at the smallest indentation, so the block stays aligned.
    """
    blocks = selected_blocks(cursor)
    code = [b for b in blocks if b.text().strip()] or blocks[:1]
    commented = all(b.text().lstrip().startswith(prefix) for b in code if b.text().strip())
    commented = commented and any(b.text().strip() for b in code)
    edit = QTextCursor(cursor.document())
    edit.beginEditBlock()
    if commented:
        for block in code:
            line = block.text()
            indent = len(line) - len(line.lstrip())
            after = indent + len(prefix)
            width = len(prefix) + (1 if line[after : after + 1] == " " else 0)
            edit.setPosition(block.position() + indent)
            edit.setPosition(block.position() + indent + width, QTextCursor.MoveMode.KeepAnchor)
            edit.removeSelectedText()
    else:
        column = min(len(b.text()) - len(b.text().lstrip()) for b in code)
        for block in code:
            edit.setPosition(block.position() + column)
            edit.insertText(prefix + " ")
    edit.endEditBlock()


def indent(cursor: QTextCursor, outdent: bool) -> None:
    """Tab / Shift+Tab: spaces to the next tab stop, or (for a selection of several
    lines, or outdenting) shift whole lines by ``TAB_WIDTH`` as one undo step."""
    blocks = selected_blocks(cursor)
    if not outdent and (not cursor.hasSelection() or len(blocks) == 1):
        column = cursor.positionInBlock()
        cursor.insertText(" " * (TAB_WIDTH - column % TAB_WIDTH))
        return
    edit = QTextCursor(cursor.document())
    edit.beginEditBlock()
    for block in blocks:
        if outdent:
            line = block.text()
            width = min(TAB_WIDTH, len(line) - len(line.lstrip(" ")))
            if width:
                edit.setPosition(block.position())
                edit.setPosition(block.position() + width, QTextCursor.MoveMode.KeepAnchor)
                edit.removeSelectedText()
        elif block.text().strip():
            edit.setPosition(block.position())
            edit.insertText(" " * TAB_WIDTH)
    edit.endEditBlock()


def new_line_with_indent(cursor: QTextCursor) -> None:
    """Enter: a newline that starts with the current line's indentation."""
    line = cursor.block().text()[: cursor.positionInBlock()]
    indentation = line[: len(line) - len(line.lstrip(" \t"))]
    cursor.insertText("\n" + indentation)


def format_text(cursor: QTextCursor, formatter: Callable[[str], str]) -> QTextCursor | None:
    """Reformat the selection (or the whole document) with ``formatter`` as one undo step.

    Returns a cursor selecting the reformatted text when there was a selection and it
    changed (the editor shows it selected again), else None.
    """
    had_selection = cursor.hasSelection()
    edit = QTextCursor(cursor.document())
    if had_selection:
        edit.setPosition(cursor.selectionStart())
        edit.setPosition(cursor.selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
    else:
        edit.select(QTextCursor.SelectionType.Document)
    original = edit.selection().toPlainText()
    formatted = formatter(original)
    if original.endswith("\n") and not formatted.endswith("\n"):
        formatted += "\n"
    if formatted == original:
        return None
    start = edit.selectionStart()
    edit.beginEditBlock()
    edit.insertText(formatted)
    edit.endEditBlock()
    if not had_selection:
        return None
    edit.setPosition(start)
    edit.setPosition(start + len(qt_units(formatted)), QTextCursor.MoveMode.KeepAnchor)
    return edit
