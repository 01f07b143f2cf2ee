"""The find/replace bar shown under the query editor (Ctrl+F, Ctrl+H), and the pane
that puts the two together.

Searching uses Python's ``re`` on the user's own search text (escaped unless the regex
option is on), over the whole document at once; all matches are highlighted (up to a cap,
so a one-letter search in a megabyte stays responsive) and counted.
"""

from __future__ import annotations

import bisect
import re

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.engines.descriptor import LanguageSpec
from dbplay_desktop.ui.editor.editor import CodeEditor
from dbplay_desktop.ui.editor.highlighter import _ASTRAL
from dbplay_desktop.ui.editor.text import qt_to_py

#: Matches beyond this many are counted but not highlighted.
MAX_HIGHLIGHTS = 2_000
#: Counting stops here ("10,000+ matches").
MAX_COUNT = 10_000
#: Replace-all rewrites the whole text in one go above this many matches (faster).
BULK_REPLACE_FROM = 500
_REFRESH_DELAY_MS = 120


def build_pattern(text: str, match_case: bool, whole_word: bool, regex: bool) -> re.Pattern[str]:
    """The compiled search for the bar's options; raises ``re.error`` for a bad regex."""
    body = text if regex else re.escape(text)
    if whole_word:
        body = rf"\b(?:{body})\b"
    flags = re.MULTILINE | (0 if match_case else re.IGNORECASE)
    return re.compile(body, flags)


class _QtOffsets:
    """Converts Python indices of one text to Qt (UTF-16) positions quickly."""

    def __init__(self, text: str) -> None:
        self._astral = [] if text.isascii() else [m.start() for m in _ASTRAL.finditer(text)]

    def __call__(self, index: int) -> int:
        return index + bisect.bisect_left(self._astral, index) if self._astral else index


class FindReplaceBar(QWidget):
    """Find next/previous, match case, whole word, regex, replace and replace all."""

    def __init__(self, editor: CodeEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self._pattern: re.Pattern[str] | None = None
        self._matches: list[tuple[int, int]] = []  # Qt positions
        self._truncated = False

        self.find_edit = QLineEdit(self)
        self.find_edit.setPlaceholderText("Find")
        self.find_edit.setClearButtonEnabled(True)
        self.replace_edit = QLineEdit(self)
        self.replace_edit.setPlaceholderText("Replace with")
        self.case_button = self._toggle("Aa", "Match case")
        self.word_button = self._toggle("W", "Whole word")
        self.regex_button = self._toggle(".*", "Regular expression (Python syntax)")
        previous_button = self._tool("↑", "Previous match (Shift+Enter)", self.find_previous)
        next_button = self._tool("↓", "Next match (Enter)", self.find_next)
        close_button = self._tool("✕", "Close (Esc)", self.close_bar)
        self.count_label = QLabel(self)
        self.count_label.setMinimumWidth(110)
        self.replace_button = QPushButton("Replace", self)
        self.replace_button.clicked.connect(self.replace_current)
        self.replace_all_button = QPushButton("Replace all", self)
        self.replace_all_button.clicked.connect(self.replace_all)

        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.find_edit, 0, 0)
        find_tools = QHBoxLayout()
        for widget in (self.case_button, self.word_button, self.regex_button,
                       previous_button, next_button, self.count_label):  # fmt: skip
            find_tools.addWidget(widget)
        find_tools.addStretch(1)
        find_tools.addWidget(close_button)
        grid.addLayout(find_tools, 0, 1)
        grid.addWidget(self.replace_edit, 1, 0)
        replace_tools = QHBoxLayout()
        replace_tools.addWidget(self.replace_button)
        replace_tools.addWidget(self.replace_all_button)
        replace_tools.addStretch(1)
        grid.addLayout(replace_tools, 1, 1)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        self._replace_widgets = (self.replace_edit, self.replace_button, self.replace_all_button)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(_REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self.find_edit.textChanged.connect(lambda _t: self._refresh_timer.start())
        for button in (self.case_button, self.word_button, self.regex_button):
            button.toggled.connect(lambda _on: self.refresh())
        self.find_edit.returnPressed.connect(self.find_next)
        self.replace_edit.returnPressed.connect(self.replace_current)
        editor.document().contentsChange.connect(self._on_document_change)

    def _toggle(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(True)
        button.setAutoRaise(True)
        return button

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # -- showing -------------------------------------------------------------------
    def open(self, replace: bool = False) -> None:
        """Show the bar (with the replace row for Ctrl+H), seeded from the selection."""
        for widget in self._replace_widgets:
            widget.setVisible(replace)
        selected = self.editor.textCursor().selection().toPlainText()
        if selected and "\n" not in selected:
            self.find_edit.setText(selected)
        self.show()
        self.find_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_edit.selectAll()
        self.refresh()

    def close_bar(self) -> None:
        self._refresh_timer.stop()
        self.hide()
        self._matches = []
        self.editor.set_search_highlights([])
        self.editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.find_previous()
            return
        if event.matches(QKeySequence.StandardKey.FindNext):
            self.find_next()
            return
        if event.matches(QKeySequence.StandardKey.FindPrevious):
            self.find_previous()
            return
        super().keyPressEvent(event)

    # -- matching ---------------------------------------------------------------------
    def _on_document_change(self, _position: int, removed: int, added: int) -> None:
        if self.isVisible() and (removed or added):
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Search again and re-highlight; call after the text or the options change."""
        self._refresh_timer.stop()
        self._matches = []
        self._truncated = False
        self._pattern = None
        needle = self.find_edit.text()
        self.find_edit.setStyleSheet("")
        self.find_edit.setToolTip("")
        if needle:
            try:
                self._pattern = build_pattern(
                    needle,
                    self.case_button.isChecked(),
                    self.word_button.isChecked(),
                    self.regex_button.isChecked(),
                )
            except re.error as error:
                self._show_bad_pattern(str(error))
                return
            text = self.editor.all_text()
            to_qt = _QtOffsets(text)
            for match in self._pattern.finditer(text):
                if match.end() == match.start():
                    continue
                if len(self._matches) >= MAX_COUNT:
                    self._truncated = True
                    break
                self._matches.append((to_qt(match.start()), to_qt(match.end())))
        self.editor.set_search_highlights(self._matches[:MAX_HIGHLIGHTS])
        self._update_label()

    def _show_bad_pattern(self, reason: str) -> None:
        self.find_edit.setStyleSheet("QLineEdit { border: 1px solid #d70000; }")
        self.find_edit.setToolTip(f"Invalid pattern: {reason}")
        self.count_label.setText("Invalid pattern")
        self.editor.set_search_highlights([])

    def match_count(self) -> int:
        return len(self._matches)

    def matches(self) -> list[tuple[int, int]]:
        """The matches as Qt document positions ``(start, end)``."""
        return list(self._matches)

    def _current_index(self) -> int | None:
        cursor = self.editor.textCursor()
        found = (cursor.selectionStart(), cursor.selectionEnd())
        index = bisect.bisect_left(self._matches, found)
        if index < len(self._matches) and self._matches[index] == found:
            return index
        return None

    def _update_label(self) -> None:
        if not self.find_edit.text():
            self.count_label.setText("")
            return
        total = f"{len(self._matches):,}" + ("+" if self._truncated else "")
        if not self._matches:
            self.count_label.setText("No matches")
            return
        index = self._current_index()
        self.count_label.setText(
            f"{index + 1:,} of {total}" if index is not None else f"{total} matches"
        )

    def _select(self, index: int) -> None:
        start, end = self._matches[index]
        cursor = self.editor.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        self.editor.setTextCursor(cursor)
        self.editor.ensureCursorVisible()
        self._update_label()

    def find_next(self) -> bool:
        """Select the next match after the cursor, wrapping around; False if none."""
        if self._refresh_timer.isActive() or self._pattern is None:
            self.refresh()
        if not self._matches:
            return False
        after = self.editor.textCursor().selectionEnd()
        index = bisect.bisect_left(self._matches, (after, -1))
        self._select(index % len(self._matches))
        return True

    def find_previous(self) -> bool:
        """Select the match before the cursor, wrapping around; False if none."""
        if self._refresh_timer.isActive() or self._pattern is None:
            self.refresh()
        if not self._matches:
            return False
        before = self.editor.textCursor().selectionStart()
        index = bisect.bisect_left(self._matches, (before, -1)) - 1
        self._select(index % len(self._matches))
        return True

    # -- replacing -----------------------------------------------------------------------
    def _replacement(self, text: str, start: int, end: int) -> str:
        """The replacement for the match ``text[start:end]`` (groups expanded for regex)."""
        assert self._pattern is not None
        if not self.regex_button.isChecked():
            return self.replace_edit.text()
        match = self._pattern.search(text, start)
        if match is None or match.start() != start or match.end() != end:
            return self.replace_edit.text()
        return match.expand(self.replace_edit.text())

    def replace_current(self) -> bool:
        """Replace the selected match, then move to the next; False if nothing matched."""
        if self._refresh_timer.isActive() or self._pattern is None:
            self.refresh()
        index = self._current_index()
        if index is None:
            self.find_next()
            return False
        text = self.editor.all_text()
        start, end = self._matches[index]
        try:
            replacement = self._replacement(text, qt_to_py(text, start), qt_to_py(text, end))
        except (re.error, IndexError) as error:
            self._show_bad_pattern(f"replacement: {error}")
            return False
        cursor = self.editor.textCursor()
        cursor.insertText(replacement)
        self.editor.setTextCursor(cursor)
        self.refresh()
        self.find_next()
        return True

    def replace_all(self) -> int:
        """Replace every match as one undo step; returns how many were replaced."""
        self.refresh()
        if self._pattern is None or not self._matches:
            return 0
        text = self.editor.all_text()
        pattern = self._pattern
        template = self.replace_edit.text()
        regex = self.regex_button.isChecked()
        try:
            if len(self._matches) > BULK_REPLACE_FROM or self._truncated:
                new_text, count = self._substitute(pattern, template, regex, text)
                edit = QTextCursor(self.editor.document())
                edit.beginEditBlock()
                edit.select(QTextCursor.SelectionType.Document)
                edit.insertText(new_text)
                edit.endEditBlock()
            else:
                replacements = [
                    (s, e, self._replacement(text, qt_to_py(text, s), qt_to_py(text, e)))
                    for s, e in self._matches
                ]
                edit = QTextCursor(self.editor.document())
                edit.beginEditBlock()
                for start, end, replacement in reversed(replacements):
                    edit.setPosition(start)
                    edit.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
                    edit.insertText(replacement)
                edit.endEditBlock()
                count = len(replacements)
        except (re.error, IndexError) as error:
            self._show_bad_pattern(f"replacement: {error}")
            return 0
        self.refresh()
        self.count_label.setText(f"Replaced {count:,}")
        return count

    @staticmethod
    def _substitute(
        pattern: re.Pattern[str], template: str, regex: bool, text: str
    ) -> tuple[str, int]:
        def replace(match: re.Match[str]) -> str:
            if match.end() == match.start():
                return match.group(0)
            return match.expand(template) if regex else template

        count = sum(1 for m in pattern.finditer(text) if m.end() > m.start())
        return pattern.sub(replace, text), count


class EditorPane(QWidget):
    """A :class:`CodeEditor` with its find/replace bar underneath; what a tab embeds."""

    def __init__(
        self, parent: QWidget | None = None, language: LanguageSpec | str | None = None
    ) -> None:
        super().__init__(parent)
        self.editor = CodeEditor(self, language)
        self.find_bar = FindReplaceBar(self.editor, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.find_bar)
        self.find_bar.hide()
        self.editor.find_requested.connect(self.find_bar.open)
