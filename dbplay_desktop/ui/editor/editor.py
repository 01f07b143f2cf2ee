"""The query editor: a code editor for one playground's statements.

What a DBeaver or Beekeeper user expects from the text pane: line numbers, highlighting
in the engine's language, current-line and bracket highlighting, Ctrl+Enter to run the
statement under the cursor (or the selection), Ctrl+Shift+Enter to run everything, Esc to
cancel, formatting, find/replace, completion, and the failing statement marked in the text.

The editor never talks to an engine, and knows no engine's language: everything
language-specific -- the Pygments lexer, the statement splitter, the comment prefix, the
formatter, the completion keywords, the word characters and the identifier quote -- comes
from the :class:`~dbplay_desktop.engines.descriptor.LanguageSpec` given to
:meth:`CodeEditor.set_language` (the engine descriptor's ``language``). It emits
``run_current_requested``, ``run_all_requested`` and ``cancel_requested``; the main window
asks it for :meth:`CodeEditor.selected_text_or_statement` and runs that on a worker.

The pieces live next door: :mod:`.commands` (key bindings, comment / indent / format),
:mod:`.decorations` (line numbers, current line, brackets, find matches, error
underlines), :mod:`.completer`, :mod:`.highlighter` and :mod:`.text` (pure text helpers).

Offsets: Qt counts positions in UTF-16 units, Python strings in code points. Every public
method here speaks Python offsets into :meth:`CodeEditor.all_text` (the same offsets as
:class:`~dbplay_desktop.engines.base.Statement`); conversions happen inside.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from dbplay_desktop.engines.base import CatalogItem, Statement
from dbplay_desktop.engines.descriptor import LanguageSpec
from dbplay_desktop.ui.editor import commands as editor_commands
from dbplay_desktop.ui.editor.commands import TAB_WIDTH, key_command
from dbplay_desktop.ui.editor.completer import (
    Completer,
    names_from_catalog,
    relations_from_catalog,
)
from dbplay_desktop.ui.editor.decorations import (
    LineNumberGutter,
    bracket_selections,
    current_line_selection,
    editor_colors,
    error_selection,
    range_selection,
)
from dbplay_desktop.ui.editor.highlighter import (
    PygmentsHighlighter,
    is_dark,
    literal_kind_at,
    qt_units,
)
from dbplay_desktop.ui.editor.text import (
    py_to_qt,
    qt_to_py,
    statement_at,
    whole_text_split,
)
from dbplay_desktop.ui.menu_text import use_sentence_case_menu

__all__ = [
    "DEFAULT_COMMENT_PREFIX",
    "CodeEditor",
    "Splitter",
    "lexer_only",
    "py_to_qt",
    "qt_to_py",
    "statement_at",
    "whole_text_split",
]

Splitter = Callable[[str], list[Statement]]

#: What Ctrl+/ writes before no language is set (``LanguageSpec``'s own default).
DEFAULT_COMMENT_PREFIX = LanguageSpec.__dataclass_fields__["comment_prefix"].default
_COMPLETION_DELAY_MS = 150
_MIN_AUTO_PREFIX = 2


def lexer_only(lexer: str) -> LanguageSpec:
    """A language that is only a Pygments lexer name: highlighted, but one statement, no
    keywords, no formatter and the default comment prefix."""
    return LanguageSpec(name=lexer, lexer=lexer, splitter="")


# --------------------------------------------------------------------------- editor



def weak_method(method: Callable[[], tuple[int, int]]) -> Callable[[], tuple[int, int]]:
    """``method`` called through a weak reference (an empty range once its object is gone)."""
    ref = weakref.WeakMethod(method)  # type: ignore[arg-type]

    def call() -> tuple[int, int]:
        bound = ref()
        return bound() if bound is not None else (0, -1)

    return call

class CodeEditor(QPlainTextEdit):
    """A plain-text code editor with the query-tool conveniences listed in the module doc."""

    run_current_requested = Signal()
    run_all_requested = Signal()
    cancel_requested = Signal()
    #: Ctrl+F (False) or Ctrl+H (True, with replace); ``find_replace.EditorPane`` opens its bar.
    find_requested = Signal(bool)
    #: A one-line note for the status bar ("This language has no formatter.", ...).
    status_message = Signal(str)
    #: After :meth:`set_language`: what :meth:`can_format` says may have changed.
    language_changed = Signal()

    def __init__(
        self, parent: QWidget | None = None, language: LanguageSpec | str | None = None
    ) -> None:
        super().__init__(parent)
        self._spec: LanguageSpec | None = None
        self._splitter: Splitter | None = None
        self._error_marks: list[tuple[QTextCursor, str]] = []
        self._search_selections: list[QTextEdit.ExtraSelection] = []
        self._colors: dict[str, QColor] = {}

        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._gutter = LineNumberGutter(self)
        self.highlighter = PygmentsHighlighter(self.document())
        # Weakly: the highlighter holding the editor's method would keep both alive
        # (with their completer and caches) after the tab closed.
        self.highlighter.visible_blocks = weak_method(self._visible_block_range)

        self.completer = Completer(self)
        self.completer.setWidget(self)
        self.set_language(language)
        self.completer.activated[str].connect(
            lambda shown: self._insert_completion(self.completer.insert_text_for(shown))
        )
        self._completion_timer = QTimer(self)
        self._completion_timer.setSingleShot(True)
        self._completion_timer.setInterval(_COMPLETION_DELAY_MS)
        self._completion_timer.timeout.connect(lambda: self._open_completion(force=False))

        self.blockCountChanged.connect(self._gutter.update_width)
        self.updateRequest.connect(self._gutter.follow)
        self.cursorPositionChanged.connect(self._refresh_extra_selections)
        self.document().contentsChange.connect(self._on_contents_change)
        use_sentence_case_menu(self)  # Qt's own menu says "Select All"
        self._apply_theme()
        self._gutter.update_width()

    # -- language ------------------------------------------------------------
    def set_language(self, spec: LanguageSpec | str | None) -> bool:
        """Edit in the language ``spec`` describes (an engine descriptor's ``language``).

        Highlighting uses ``spec.lexer``, completion ``spec.keyword_list``,
        ``spec.word_characters`` and ``spec.quote_identifier``, Ctrl+/ writes
        ``spec.comment_prefix``, statements are cut by ``spec.split`` and *Format* uses
        ``spec.format`` when ``spec.can_format``. ``None``: no language yet -- no
        highlighting, the whole text is one statement, no keywords, no formatting. A
        bare string is a Pygments lexer name and nothing else (see :func:`lexer_only`).
        Returns False when Pygments knows no lexer of that name (plain text then).
        """
        if isinstance(spec, str):
            spec = lexer_only(spec) if spec.strip() else None
        self._spec = spec
        self.completer.set_language(spec)
        known = self.highlighter.set_language(spec.lexer if spec is not None else "")
        self.language_changed.emit()
        return known

    def language(self) -> str:
        """The Pygments lexer name of the language ("" before one is set)."""
        return self._spec.lexer if self._spec is not None else ""

    def language_spec(self) -> LanguageSpec | None:
        """The language being edited, as given to :meth:`set_language`."""
        return self._spec

    def comment_prefix(self) -> str:
        """What Ctrl+/ writes before a line (and what a template header starts with)."""
        if self._spec is None or not self._spec.comment_prefix:
            return DEFAULT_COMMENT_PREFIX
        return self._spec.comment_prefix

    def can_format(self) -> bool:
        """Whether the language has a formatter (the *Format* command is off otherwise)."""
        return self._spec is not None and self._spec.can_format

    def set_catalog(self, items: list[CatalogItem]) -> None:
        """Completion's names and relations from a catalog tree; names without an
        ``insert_text`` are written the language's way (``spec.quote_identifier``)."""
        quote = self._spec.quote_identifier if self._spec is not None else None
        self.set_catalog_names(names_from_catalog(items, quote))
        self.set_catalog_relations(relations_from_catalog(items, quote))

    def set_catalog_names(self, names: Iterable[str]) -> None:
        """Names offered by completion besides keywords (see ``completer.names_from_catalog``)."""
        self.completer.set_catalog_names(names)

    def set_catalog_relations(self, relations: dict[str, tuple[str, list[str]]]) -> None:
        """Tables and their columns (``completer.relations_from_catalog``), so completion
        offers a table's columns after ``alias.`` and tables after FROM."""
        self.completer.set_relations(relations)

    # -- statements ----------------------------------------------------------
    def set_splitter(self, splitter: Splitter | None) -> None:
        """Cut statements with ``splitter`` instead of the language's ``split`` (None:
        the language's again). An override for tests and tools; the playground needs
        none, the language spec brings its splitter."""
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
        if self._spec is None or not self._spec.splitter:
            return whole_text_split(text)
        return self._spec.split(text)

    def select_range(self, start: int, end: int) -> None:
        """Select Python offsets ``start..end`` (e.g. the statement being run)."""
        text = self.all_text()
        cursor = self.textCursor()
        cursor.setPosition(py_to_qt(text, start))
        cursor.setPosition(py_to_qt(text, end), QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)

    # -- editing commands ----------------------------------------------------
    def format_text(self) -> bool:
        """Reformat the selection (or everything) with the language's formatter, as one
        undo step.

        Returns False, and says why on ``status_message``, when the language has no
        formatter (or none is set) or the formatter fails on the text.
        """
        spec = self._spec
        if spec is None or not spec.can_format:
            self.status_message.emit("This language has no formatter.")
            return False
        try:
            selection = editor_commands.format_text(self.textCursor(), spec.format)
        except (ImportError, ValueError) as exc:
            self.status_message.emit(f"Could not format: {exc}")
            return False
        if selection is not None:
            self.setTextCursor(selection)
        return True

    #: The former name of :meth:`format_text` (the window's *Format* action calls it).
    format_sql = format_text

    def toggle_comment(self) -> None:
        """Comment or uncomment the selected lines (or the current line) as one undo step."""
        editor_commands.toggle_comment(self.textCursor(), self.comment_prefix())

    def _indent(self, outdent: bool) -> None:
        editor_commands.indent(self.textCursor(), outdent)

    def _new_line_with_indent(self) -> None:
        editor_commands.new_line_with_indent(self.textCursor())
        self.ensureCursorVisible()

    # -- keys ------------------------------------------------------------------
    def event(self, event: QEvent) -> bool:
        # Claim our keys before window-level shortcuts can take them.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and key_command(event) is not None
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
        command = key_command(event)
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
        word_key = bool(typed) and len(typed) == 1 and self.completer.is_word_char(typed)
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
        while start > 0 and self.completer.is_word_char(line[start - 1]):
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
        self.completer.show_for(prefix, QRect(rect), self._context_words(prefix))

    def _context_words(self, prefix: str) -> list[str] | None:
        """Columns after ``alias.``, tables after FROM; None: every word (see completer)."""
        if not self.completer.relations:
            return None
        text = self.all_text()
        cursor = self.cursor_offset()
        word_start = max(0, cursor - len(prefix))
        statement = statement_at(self._split(text), word_start)
        start = statement.start if statement is not None and statement.start <= word_start else 0
        end = max(statement.end if statement is not None else 0, cursor)
        return self.completer.words_for(text[start:word_start], text[start:end])

    def _insert_completion(self, word: str) -> None:
        prefix = self.word_before_cursor()
        cursor = self.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
        )
        line = cursor.block().text()
        before = cursor.selectionStart() - cursor.block().position()
        quote = self.completer.quote
        if quote and word.startswith(quote) and before > 0 and line[before - 1 : before] == quote:
            word = word[len(quote) :]  # the user already typed the opening quote
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
        cursor = QTextCursor(self.document())
        self._search_selections = [
            range_selection(cursor, start, end, fmt) for start, end in ranges
        ]
        self._refresh_extra_selections()

    def _refresh_extra_selections(self) -> None:
        cursor = self.textCursor()
        selections = [current_line_selection(cursor, self._colors)]
        selections.extend(self._search_selections)
        selections.extend(bracket_selections(cursor, self._colors))
        selections.extend(error_selection(mark, self._colors) for mark, _ in self._error_marks)
        self.setExtraSelections(selections)

    # -- gutter -------------------------------------------------------------------
    def line_number_area_width(self) -> int:
        """The gutter's width in pixels (it grows with the number of digits)."""
        return self._gutter.width_needed()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._gutter.place()

    def _visible_block_range(self) -> tuple[int, int]:
        first = self.firstVisibleBlock().blockNumber()
        rows = self.viewport().height() // max(1, self.fontMetrics().height()) + 1
        return first, first + rows

    # -- theme ------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_theme()

    @property
    def colors(self) -> dict[str, QColor]:
        """The decoration colours of the current theme (see ``editor_colors``)."""
        return self._colors

    def _apply_theme(self) -> None:
        palette = self.palette()
        dark = is_dark(palette)
        self._colors = editor_colors(palette)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * TAB_WIDTH)
        if getattr(self, "_theme_dark", None) != dark:
            self._theme_dark = dark
            self.highlighter.set_dark(dark)
        for selection in self._search_selections:
            selection.format.setBackground(self._colors["search"])
        self._refresh_extra_selections()
        self._gutter.update()
