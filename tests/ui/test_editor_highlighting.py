"""The editor's syntax highlighting: formats per language, tokens across lines,
incremental re-highlighting that matches a fresh one, big documents, dark palettes."""

from __future__ import annotations

import random
import time

import pytest
from PySide6.QtGui import QColor, QFont, QPalette, QTextCursor, QTextDocument
from PySide6.QtWidgets import QApplication

from dbplay_desktop.engines.descriptor import LanguageSpec
from dbplay_desktop.ui.editor.editor import CodeEditor
from dbplay_desktop.ui.editor.highlighter import LITERAL_PROPERTY, PygmentsHighlighter, is_dark
from tests.ui.helpers_editor import (
    SCRIPT_LANGUAGE,
    format_at,
    formats_of,
    language,
    new_editor,
    put_cursor,
    settle,
)


@pytest.fixture
def editor(qtbot) -> CodeEditor:
    return new_editor(qtbot)


# --------------------------------------------------------------------------- highlighting


def test_keywords_get_a_format(qtbot, editor):
    editor.setPlainText("SELECT title FROM people WHERE id = 1;")
    settle(qtbot, editor)
    keyword = format_at(editor, 0, 0)
    assert keyword is not None
    assert keyword.fontWeight() == QFont.Weight.Bold or keyword.foreground().style() != 0
    assert format_at(editor, 0, 14).foreground() == keyword.foreground()  # FROM
    plain = format_at(editor, 0, 19)  # people
    assert plain is None or plain.foreground() != keyword.foreground()


def test_multiline_comment_and_dollar_quote_cross_lines(qtbot, editor):
    editor.setPlainText(
        "/* first\n"
        "   SELECT inside comment\n"
        "*/ SELECT 1;\n"
        "SELECT $$\n"
        "SELECT inside string\n"
        "$$;\n"
        "SELECT 2;"
    )
    settle(qtbot, editor)
    comment = format_at(editor, 1, 3)
    assert comment is not None and comment.property(LITERAL_PROPERTY) == "comment"
    after_comment = format_at(editor, 2, 3)
    assert after_comment is not None and not after_comment.property(LITERAL_PROPERTY)
    in_string = format_at(editor, 4, 0)
    assert in_string is not None and in_string.property(LITERAL_PROPERTY) == "string"
    last = format_at(editor, 6, 0)
    assert last is not None and not last.property(LITERAL_PROPERTY)

    # Closing the comment early re-highlights the following lines as code.
    cursor = editor.textCursor()
    cursor.setPosition(len("/* first"))
    cursor.insertText(" */")
    settle(qtbot, editor)
    code = format_at(editor, 1, 3)
    assert code is not None and not code.property(LITERAL_PROPERTY)


def test_closing_a_dollar_quote_later_recolours_the_lines_above(qtbot, editor):
    editor.setPlainText("SELECT $$\nhello from inside\nmore text\n")
    settle(qtbot, editor)
    assert (format_at(editor, 1, 0) is None) or not format_at(editor, 1, 0).property(
        LITERAL_PROPERTY
    )
    cursor = editor.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    editor.setTextCursor(cursor)
    qtbot.keyClicks(editor, "$$;")
    settle(qtbot, editor)
    for line in (1, 2):
        assert format_at(editor, line, 0).property(LITERAL_PROPERTY) == "string"


PG_PIECES = ["SELECT 1;", "/* open", "close */", "'str", "ing'", "$$", "$x$", "-- note",
             "CREATE FUNCTION f() RETURNS int AS $$", "BEGIN RETURN 1; END;",
             "$$ LANGUAGE plpgsql;", "\"quoted", "ident\"", "E'\\''", "(", ")"]  # fmt: skip
PG_EDITS = ["/*", "*/", "'", "$$", "\n", "x", "--", "$a$", " "]
JS_PIECES = ["db.c.find({a: 1})", "/* open", "close */", "`tmpl", "${x}`", "'s'", "// c",
             "\"d", "q\"", "{", "}"]  # fmt: skip
JS_EDITS = ["/*", "*/", "`", "'", "\n", "x", "//", "${", "}"]


@pytest.mark.parametrize(
    ("language_name", "pieces", "edits", "seed"),
    [("postgresql", PG_PIECES, PG_EDITS, seed) for seed in (0, 4, 5, 7)]
    + [("script", JS_PIECES, JS_EDITS, seed) for seed in (1, 2)],
)
def test_incremental_highlighting_matches_a_fresh_highlight(
    qtbot, editor, language_name, pieces, edits, seed
):
    """Random edits, then every line must look exactly as a fresh highlight makes it."""
    spec = SCRIPT_LANGUAGE if language_name == "script" else language(language_name)
    editor.set_language(spec)
    rng = random.Random(seed)
    editor.setPlainText("\n".join(rng.choice(pieces) for _ in range(60)))
    for _ in range(40):
        cursor = editor.textCursor()
        size = editor.document().characterCount() - 1
        cursor.setPosition(rng.randint(0, size))
        if rng.random() < 0.3 and size > 5:
            cursor.setPosition(
                min(size, cursor.position() + rng.randint(1, 6)), QTextCursor.MoveMode.KeepAnchor
            )
        cursor.insertText(rng.choice(edits))
    settle(qtbot, editor)

    fresh_doc = QTextDocument()
    fresh_doc.setPlainText(editor.toPlainText())
    fresh = PygmentsHighlighter(fresh_doc, spec.lexer)
    fresh.set_dark(is_dark(editor.palette()))  # highlights the whole document
    qtbot.waitUntil(lambda: not fresh.pending(), timeout=20_000)
    block, other = editor.document().firstBlock(), fresh_doc.firstBlock()
    while block.isValid():
        assert formats_of(block) == formats_of(other), f"line {block.blockNumber() + 1}"
        block, other = block.next(), other.next()


def test_other_languages(qtbot, editor):
    assert editor.set_language(SCRIPT_LANGUAGE)
    editor.setPlainText("db.people.find({age: {$gt: 30}}) /* a\nb */ // note")
    settle(qtbot, editor)
    assert format_at(editor, 1, 0).property(LITERAL_PROPERTY) == "comment"
    assert editor.comment_prefix() == "//"
    # SQLite's spec names Pygments' SQL lexer (its sqlite3 lexer wants sqlite> prompts).
    assert editor.set_language(language("sqlite"))
    assert editor.highlighter.lexer.name == "SQL"
    assert editor.comment_prefix() == "--"
    assert not editor.set_language(LanguageSpec("x", "no-such-language", ""))
    assert editor.highlighter.lexer.name == "Text only"


def test_which_lexers_resume_line_by_line():
    """Lexers whose rule tables are all there is are run from any line; an override that
    only keeps the whole text for its callbacks (the $$-body one) is fine; one that
    rewrites tokens is not (it gets line-only highlighting)."""
    from pygments.lexers import get_lexer_by_name

    from dbplay_desktop.ui.editor.resumable_lexer import supports_resume

    for name in ("postgresql", "plpgsql", "sql", "javascript", "python"):
        assert supports_resume(get_lexer_by_name(name)), name
    for name in ("lua", "c", "text", "sqlite3"):  # rewrites names / not a RegexLexer
        assert not supports_resume(get_lexer_by_name(name)), name


def test_a_lexer_that_cannot_resume_still_highlights(qtbot, editor):
    editor.set_language(LanguageSpec("Lua", "lua", "", comment_prefix="--"))
    assert editor.highlighter._runner is None
    editor.setPlainText("local x = 'a' -- note\nprint(x)")
    settle(qtbot, editor)
    assert format_at(editor, 0, 10).property(LITERAL_PROPERTY) == "string"
    assert format_at(editor, 0, 15).property(LITERAL_PROPERTY) == "comment"


def test_typing_in_a_big_document_stays_fast(qtbot, editor, monkeypatch):
    """A key press re-highlights its own line (and what its state reaches), never the
    whole document: counted in lines highlighted, not in seconds (timing is for the
    benchmarks)."""
    from dbplay_desktop.ui.editor.highlighter import PygmentsHighlighter

    line = "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.cid WHERE x > 'y';"
    editor.setPlainText("\n".join(line for _ in range(10_000)))
    editor.show()
    settle(qtbot, editor)
    put_cursor(editor, len(line) * 5000)
    highlighted: list[str] = []
    highlighter = editor.highlighter
    original = PygmentsHighlighter.highlightBlock

    def counting(text: str) -> None:
        highlighted.append(text)
        original(highlighter, text)

    # Qt calls the Python override it finds on the instance.
    monkeypatch.setattr(highlighter, "highlightBlock", counting, raising=False)
    for char in "abc":
        highlighted.clear()
        qtbot.keyClick(editor, char)
        assert 1 <= len(highlighted) <= 5, len(highlighted)
    monkeypatch.undo()

    # Opening a comment at the top changes every line's state: deferred, not a freeze.
    put_cursor(editor, 0)
    qtbot.keyClicks(editor, "/*")
    settle(qtbot, editor)
    last = editor.document().lastBlock()
    assert last.layout().formats()[0].format.property(LITERAL_PROPERTY) == "comment"


def test_large_paste(qtbot, editor):
    chunk = "INSERT INTO t VALUES (1, 'text with (brackets)'); -- note\n"
    text = chunk * (1_000_000 // len(chunk))
    editor.show()
    start = time.perf_counter()
    editor.insertPlainText(text)
    blocking = time.perf_counter() - start
    settle(qtbot, editor, timeout=60_000)
    total = time.perf_counter() - start
    print(f"1 MB paste: {blocking * 1000:.0f} ms blocking, {total:.1f} s total")
    assert editor.blockCount() > 15_000
    assert format_at(editor, editor.blockCount() - 2, 0) is not None


def test_follows_a_dark_palette(qtbot, editor):
    editor.setPlainText("SELECT 'x' -- note")
    light = format_at(editor, 0, 0).foreground().color().name()
    palette = QPalette(QApplication.palette())
    palette.setColor(QPalette.ColorRole.Window, QColor("#1e1e1e"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#dddddd"))
    editor.setPalette(palette)
    settle(qtbot, editor)
    assert format_at(editor, 0, 0).foreground().color().name() != light
