"""Shared by the editor tests: a fresh editor, languages, and reading the highlighter's
formats."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextCharFormat

from dbplay_desktop.engines.base import Statement
from dbplay_desktop.engines.descriptor import LanguageSpec
from dbplay_desktop.engines.registry import descriptor
from dbplay_desktop.ui.editor.editor import CodeEditor
from dbplay_desktop.ui.editor.highlighter import LITERAL_PROPERTY


def language(engine: str) -> LanguageSpec:
    """The language spec of a registered engine, as the playground gives it the editor."""
    return descriptor(engine).language


def split_lines(text: str) -> list[Statement]:
    """A test language's splitter: every non-blank line is a statement."""
    statements = []
    position = 0
    for line in text.splitlines(keepends=True):
        body = line.strip()
        if body:
            start = position + len(line) - len(line.lstrip())
            statements.append(Statement.at(text, start, start + len(body)))
        position += len(line)
    return statements


def script_keywords() -> list[str]:
    """A test language's keywords."""
    return ["db", "find", "findOne", "$match", "$group"]


#: A language no engine of dbplay has: JavaScript-like, ``//`` comments, one statement a
#: line, its own keywords and ``$`` inside words, no formatter, no identifier quoting.
SCRIPT_LANGUAGE = LanguageSpec(
    name="Test script",
    lexer="javascript",
    splitter="tests.ui.helpers_editor:split_lines",
    comment_prefix="//",
    script_suffix=".js",
    keywords="tests.ui.helpers_editor:script_keywords",
    identifier_quote="",
    word_characters="_$",
    folds_to_lower=False,
)


def new_editor(qtbot, engine: str = "postgresql") -> CodeEditor:
    """An editor for ``engine``'s language, of a usual size, not shown (closed by qtbot
    after the test)."""
    widget = CodeEditor(language=language(engine))
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
