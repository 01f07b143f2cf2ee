"""The query editor: a code editor for one playground's statements.

What a DBeaver or Beekeeper user expects from the text pane: line numbers, highlighting
per engine language, current-line and bracket highlighting, Ctrl+Enter to run the
statement under the cursor (or the selection), Ctrl+Shift+Enter to run everything, Esc to
cancel, formatting, find/replace, completion, and the failing statement marked in the text.

The editor never talks to an engine. It emits ``run_current_requested``,
``run_all_requested`` and ``cancel_requested``; the main window asks it for
:meth:`CodeEditor.selected_text_or_statement` and runs that on a worker.

Offsets: Qt counts positions in UTF-16 units, Python strings in code points. Every public
method here speaks Python offsets into :meth:`CodeEditor.all_text` (the same offsets as
:class:`~dbplay_desktop.engines.base.Statement`); conversions happen inside.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from dbplay_desktop.engines.base import Statement
from dbplay_desktop.ui.completer import Completer, is_identifier_char
from dbplay_desktop.ui.editor_text import (
    BRACKETS,
    CLOSERS,
    matching_bracket,
    mix,
    py_to_qt,
    qt_to_py,
    sqlparse_split,
    statement_at,
    whole_text_split,
)
from dbplay_desktop.ui.highlighter import PygmentsHighlighter, is_dark, literal_kind_at, qt_units

__all__ = [
    "CodeEditor",
    "Splitter",
    "py_to_qt",
    "qt_to_py",
    "sqlparse_split",
    "statement_at",
    "whole_text_split",
]

Splitter = Callable[[str], list[Statement]]

TAB_WIDTH = 4
_SQL_LEXERS = {"sql", "postgresql", "postgres", "sqlite", "sqlite3", "mysql", "plpgsql", "pg"}
_SLASH_COMMENT_LEXERS = {"javascript", "js", "mongosh", "mongodb", "typescript", "ts", "json5"}
_HASH_COMMENT_LEXERS = {"python", "py", "toml", "yaml"}
_COMPLETION_DELAY_MS = 150
_MIN_AUTO_PREFIX = 2


# --------------------------------------------------------------------------- gutter


class _LineNumberArea(QWidget):
    """The gutter left of the text; the editor paints it."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self._editor.line_number_area_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._editor._paint_line_numbers(event)


# --------------------------------------------------------------------------- editor


class CodeEditor(QPlainTextEdit):
    """A plain-text code editor with the query-tool conveniences listed in the module doc."""

    run_current_requested = Signal()
    run_all_requested = Signal()
    cancel_requested = Signal()
    #: Ctrl+F (False) or Ctrl+H (True, with replace); ``find_replace.EditorPane`` opens its bar.
    find_requested = Signal(bool)
    #: A one-line note for the status bar ("Formatting works for SQL only", ...).
    status_message = Signal(str)

    def __init__(self, parent: QWidget | None = None, language: str = "sql") -> None:
        super().__init__(parent)
        self._language = language
        self._splitter: Splitter | None = None
        self._error_marks: list[tuple[QTextCursor, str]] = []
        self._search_selections: list[QTextEdit.ExtraSelection] = []
        self._colors: dict[str, QColor] = {}

        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._line_numbers = _LineNumberArea(self)
        self.highlighter = PygmentsHighlighter(self.document(), language)
        self.highlighter.visible_blocks = self._visible_block_range

        self.completer = Completer(self)
        self.completer.setWidget(self)
        self.completer.set_language(language)
        self.completer.activated[str].connect(
            lambda shown: self._insert_completion(self.completer.insert_text_for(shown))
        )
        self._completion_timer = QTimer(self)
        self._completion_timer.setSingleShot(True)
        self._completion_timer.setInterval(_COMPLETION_DELAY_MS)
        self._completion_timer.timeout.connect(lambda: self._open_completion(force=False))

        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._refresh_extra_selections)
        self.document().contentsChange.connect(self._on_contents_change)
        self._apply_theme()
        self._update_gutter_width()

    # -- language ------------------------------------------------------------
    def set_language(self, lexer_name: str) -> bool:
        """Highlight and complete for a Pygments lexer name ("postgresql", "javascript", ...)."""
        self._language = lexer_name
        self.completer.set_language(lexer_name)
        return self.highlighter.set_language(lexer_name)

    def language(self) -> str:
        return self._language

    def is_sql(self) -> bool:
        return self._language.lower() in _SQL_LEXERS

    def comment_prefix(self) -> str:
        name = self._language.lower()
        if name in _SLASH_COMMENT_LEXERS:
            return "//"
        if name in _HASH_COMMENT_LEXERS:
            return "#"
        return "--"

    def set_catalog_names(self, names: Iterable[str]) -> None:
        """Names offered by completion besides keywords (see ``completer.names_from_catalog``)."""
        self.completer.set_catalog_names(names)

    # -- statements ----------------------------------------------------------
    def set_splitter(self, splitter: Splitter | None) -> None:
        """How to cut the text into statements (``Engine.split``); None for the fallback."""
        self._splitter = splitter

    def statements(self) -> list[Statement]:
        return self._split(self.all_text())

    def all_text(self) -> str:
        return self.toPlainText()

    def cursor_offset(self) -> int:
        """The cursor position as a Python index into :meth:`all_text`."""
        return qt_to_py(self.all_text(), self.textCursor().position())

    def current_statement(self) -> Statement | None:
        """The statement under the cursor, or the nearest one before it (as DBeaver does)."""
        text = self.all_text()
        return statement_at(self._split(text), qt_to_py(text, self.textCursor().position()))

    def selected_text_or_statement(self) -> tuple[str, int]:
        """The text to run and its offset in :meth:`all_text`: the selection, else the
        statement under the cursor; ``("", cursor offset)`` when there is nothing to run."""
        cursor = self.textCursor()
        text = self.all_text()
        if cursor.hasSelection():
            start = qt_to_py(text, cursor.selectionStart())
            end = qt_to_py(text, cursor.selectionEnd())
            return text[start:end], start
        statement = statement_at(self._split(text), qt_to_py(text, cursor.position()))
        if statement is None:
            return "", qt_to_py(text, cursor.position())
        return statement.text, statement.start

    def _split(self, text: str) -> list[Statement]:
        if self._splitter is not None:
            return self._splitter(text)
        return sqlparse_split(text) if self.is_sql() else whole_text_split(text)

    def select_range(self, start: int, end: int) -> None:
        """Select Python offsets ``start..end`` (e.g. the statement being run)."""
        text = self.all_text()
        cursor = self.textCursor()
        cursor.setPosition(py_to_qt(text, start))
        cursor.setPosition(py_to_qt(text, end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    # -- editing commands ----------------------------------------------------
    def format_sql(self) -> bool:
        """Reformat the selection (or everything) with sqlparse as one undo step.

        Returns False, and says why on ``status_message``, for languages other than SQL.
        """
        if not self.is_sql():
            self.status_message.emit("Formatting works for SQL only.")
            return False
        import sqlparse

        cursor = self.textCursor()
        had_selection = cursor.hasSelection()
        edit = QTextCursor(self.document())
        if had_selection:
            edit.setPosition(cursor.selectionStart())
            edit.setPosition(cursor.selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
        else:
            edit.select(QTextCursor.SelectionType.Document)
        original = edit.selection().toPlainText()
        formatted = sqlparse.format(original, reindent=True, keyword_case="upper")
        if original.endswith("\n") and not formatted.endswith("\n"):
            formatted += "\n"
        if formatted == original:
            return True
        start = edit.selectionStart()
        edit.beginEditBlock()
        edit.insertText(formatted)
        edit.endEditBlock()
        if had_selection:
            edit.setPosition(start)
            edit.setPosition(start + len(qt_units(formatted)), QTextCursor.MoveMode.KeepAnchor)
            self.setTextCursor(edit)
        return True

    def toggle_comment(self) -> None:
        """Comment or uncomment the selected lines (or the current line) as one undo step."""
        prefix = self.comment_prefix()
        blocks = self._selected_blocks()
        code = [b for b in blocks if b.text().strip()] or blocks[:1]
        commented = all(b.text().lstrip().startswith(prefix) for b in code if b.text().strip())
        commented = commented and any(b.text().strip() for b in code)
        edit = QTextCursor(self.document())
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

    def _selected_blocks(self) -> list:
        cursor = self.textCursor()
        doc = self.document()
        first = doc.findBlock(cursor.selectionStart())
        last = doc.findBlock(cursor.selectionEnd())
        if cursor.hasSelection() and last != first and cursor.selectionEnd() == last.position():
            last = last.previous()
        blocks = [first]
        while blocks[-1] != last and blocks[-1].next().isValid():
            blocks.append(blocks[-1].next())
        return blocks

    def _indent(self, outdent: bool) -> None:
        cursor = self.textCursor()
        blocks = self._selected_blocks()
        if not outdent and (not cursor.hasSelection() or len(blocks) == 1):
            column = cursor.positionInBlock()
            cursor.insertText(" " * (TAB_WIDTH - column % TAB_WIDTH))
            return
        edit = QTextCursor(self.document())
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

    def _new_line_with_indent(self) -> None:
        cursor = self.textCursor()
        line = cursor.block().text()[: cursor.positionInBlock()]
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        cursor.insertText("\n" + indent)
        self.ensureCursorVisible()

    # -- keys ------------------------------------------------------------------
    def _command_for(self, event: QKeyEvent) -> str | None:
        """The editor command bound to a key press, if any."""
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

    def event(self, event: QEvent) -> bool:
        # Claim our keys before window-level shortcuts can take them.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._command_for(event) is not None
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if self.completer.is_open():
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab) and not (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self._insert_completion(self.completer.current_text())
                event.accept()
                return
            if key in (Qt.Key.Key_Escape, Qt.Key.Key_Backtab):
                self.completer.hide_popup()
                event.accept()
                return
        command = self._command_for(event)
        if command is not None:
            event.accept()
            self._run_command(command)
            return
        if key == Qt.Key.Key_Tab and not event.modifiers():
            self._indent(outdent=False)
        elif key == Qt.Key.Key_Backtab:
            self._indent(outdent=True)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            event.modifiers()
            & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier)
        ):
            # Shift+Enter too: Qt would insert a line separator (U+2028), not a newline.
            self._new_line_with_indent()
        else:
            super().keyPressEvent(event)
        self._after_key(event)

    def _run_command(self, command: str) -> None:
        self.completer.hide_popup()
        self._completion_timer.stop()
        if command == "run_current":
            self.run_current_requested.emit()
        elif command == "run_all":
            self.run_all_requested.emit()
        elif command == "escape":
            self.cancel_requested.emit()
        elif command == "comment":
            self.toggle_comment()
        elif command == "complete":
            self._open_completion(force=True)
        elif command in ("find", "replace"):
            self.find_requested.emit(command == "replace")

    def _after_key(self, event: QKeyEvent) -> None:
        """Keep the completion popup in step with what was typed."""
        typed = event.text()
        word_key = bool(typed) and len(typed) == 1 and is_identifier_char(typed)
        if self.completer.is_open():
            if word_key or event.key() == Qt.Key.Key_Backspace:
                self._open_completion(force=False, refresh=True)
            elif typed or event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
                self.completer.hide_popup()
        elif word_key:
            self._completion_timer.start()
        else:
            self._completion_timer.stop()

    # -- completion --------------------------------------------------------------
    def word_before_cursor(self) -> str:
        cursor = self.textCursor()
        line = qt_units(cursor.block().text())[: cursor.positionInBlock()]
        start = len(line)
        while start > 0 and is_identifier_char(line[start - 1]):
            start -= 1
        return line[start:]

    def _open_completion(self, force: bool, refresh: bool = False) -> None:
        prefix = self.word_before_cursor()
        if not force and not refresh:
            cursor = self.textCursor()
            kind = literal_kind_at(cursor.block(), max(0, cursor.positionInBlock() - 1))
            in_literal = kind in ("string", "comment")
            if len(prefix) < _MIN_AUTO_PREFIX or prefix[0].isdigit() or in_literal:
                return
        if refresh and not prefix:
            self.completer.hide_popup()
            return
        rect = self.cursorRect()
        rect.translate(self.viewport().pos())
        self.completer.show_for(prefix, QRect(rect))

    def _insert_completion(self, word: str) -> None:
        prefix = self.word_before_cursor()
        cursor = self.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
        )
        line = cursor.block().text()
        before = cursor.selectionStart() - cursor.block().position()
        if word.startswith('"') and before > 0 and line[before - 1 : before] == '"':
            word = word[1:]  # the user already typed the opening quote
        cursor.insertText(word)
        self.setTextCursor(cursor)
        self.completer.hide_popup()
        self._completion_timer.stop()

    # -- error marks -------------------------------------------------------------
    def mark_error(self, start: int, end: int, message: str) -> None:
        """Underline ``start..end`` (Python offsets) in red, tooltip ``message``, go there."""
        text = self.all_text()
        size = len(qt_units(text))
        qt_start = min(py_to_qt(text, max(0, start)), size)
        qt_end = min(max(py_to_qt(text, max(0, end)), qt_start + 1), size)
        if qt_start == qt_end and qt_start > 0:
            qt_start -= 1  # an error at the very end: mark the last character
        mark = QTextCursor(self.document())
        mark.setPosition(qt_start)
        mark.setPosition(qt_end, QTextCursor.MoveMode.KeepAnchor)
        self._error_marks.append((mark, message))
        cursor = self.textCursor()
        cursor.setPosition(qt_start)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        self._refresh_extra_selections()

    def clear_error_marks(self) -> None:
        if self._error_marks:
            self._error_marks.clear()
            self._refresh_extra_selections()

    def error_marks(self) -> list[tuple[int, int, str]]:
        """The current marks as Python offsets with their messages."""
        text = self.all_text()
        return [
            (qt_to_py(text, c.selectionStart()), qt_to_py(text, c.selectionEnd()), message)
            for c, message in self._error_marks
        ]

    def error_message_at(self, position: int) -> str | None:
        """The message of the mark covering a Qt document position, if any."""
        for cursor, message in self._error_marks:
            if cursor.selectionStart() <= position <= cursor.selectionEnd():
                return message
        return None

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._error_marks:
            pos = event.pos()  # type: ignore[attr-defined]
            message = self.error_message_at(self.cursorForPosition(pos).position())
            if message:
                QToolTip.showText(event.globalPos(), message, self.viewport())  # type: ignore[attr-defined]
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().viewportEvent(event)

    def _on_contents_change(self, _position: int, removed: int, added: int) -> None:
        if removed or added:
            self.clear_error_marks()

    # -- extra selections -----------------------------------------------------------
    def set_search_highlights(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Highlight find matches, given as Qt document positions ``(start, end)``."""
        fmt = QTextCharFormat()
        fmt.setBackground(self._colors["search"])
        selections = []
        for start, end in ranges:
            selection = QTextEdit.ExtraSelection()
            selection.cursor = QTextCursor(self.document())
            selection.cursor.setPosition(start)
            selection.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.format = fmt
            selections.append(selection)
        self._search_selections = selections
        self._refresh_extra_selections()

    def _refresh_extra_selections(self) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        line = QTextEdit.ExtraSelection()
        line.format.setBackground(self._colors["current_line"])
        line.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        line.cursor = self.textCursor()
        line.cursor.clearSelection()
        selections.append(line)
        selections.extend(self._search_selections)
        selections.extend(self._bracket_selections())
        for cursor, _message in self._error_marks:
            mark = QTextEdit.ExtraSelection()
            mark.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            mark.format.setUnderlineColor(self._colors["error"])
            mark.format.setBackground(self._colors["error_background"])
            mark.cursor = cursor
            selections.append(mark)
        self.setExtraSelections(selections)

    def _bracket_selections(self) -> list[QTextEdit.ExtraSelection]:
        cursor = self.textCursor()
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
                fmt.setBackground(self._colors["bracket" if found else "bracket_bad"])
                result = []
                for position in positions:
                    selection = QTextEdit.ExtraSelection()
                    selection.cursor = QTextCursor(self.document())
                    selection.cursor.setPosition(position)
                    selection.cursor.setPosition(position + 1, QTextCursor.MoveMode.KeepAnchor)
                    selection.format = fmt
                    result.append(selection)
                return result
        return []

    # -- gutter -------------------------------------------------------------------
    def line_number_area_width(self) -> int:
        digits = max(2, len(str(max(1, self.blockCount()))))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_gutter_width(self, *_args: object) -> None:
        self.setViewportMargins(self.line_number_area_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._line_numbers.scroll(0, dy)
        else:
            self._line_numbers.update(0, rect.y(), self._line_numbers.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        contents = self.contentsRect()
        self._line_numbers.setGeometry(
            QRect(contents.left(), contents.top(), self.line_number_area_width(), contents.height())
        )

    def _paint_line_numbers(self, event: QPaintEvent) -> None:
        painter = QPainter(self._line_numbers)
        painter.fillRect(event.rect(), self._colors["gutter"])
        painter.setFont(self.font())
        current = self.textCursor().blockNumber()
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        offset = self.contentOffset()
        top = round(self.blockBoundingGeometry(block).translated(offset).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        width = self._line_numbers.width() - 8
        line_height = self.fontMetrics().height()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                painter.setPen(
                    self._colors["gutter_current" if number == current else "gutter_text"]
                )
                painter.drawText(
                    0, top, width, line_height, Qt.AlignmentFlag.AlignRight, str(number + 1)
                )
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()

    def _visible_block_range(self) -> tuple[int, int]:
        first = self.firstVisibleBlock().blockNumber()
        rows = self.viewport().height() // max(1, self.fontMetrics().height()) + 1
        return first, first + rows

    # -- theme ------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_theme()

    def _apply_theme(self) -> None:
        palette = self.palette()
        dark = is_dark(palette)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        accent = palette.color(QPalette.ColorRole.Highlight)
        self._colors = {
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
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * TAB_WIDTH)
        if getattr(self, "_theme_dark", None) != dark:
            self._theme_dark = dark
            self.highlighter.set_dark(dark)
        for selection in self._search_selections:
            selection.format.setBackground(self._colors["search"])
        self._refresh_extra_selections()
        self._line_numbers.update()
