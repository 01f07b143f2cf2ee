"""The query editor: gutter, statements, keys, format, find, completion, errors
(highlighting: ``test_editor_highlighting``)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QToolTip

from dbplay_desktop.engines.base import CatalogItem, Statement
from dbplay_desktop.engines.descriptor import LanguageSpec
from dbplay_desktop.ui.editor.completer import names_from_catalog
from dbplay_desktop.ui.editor.editor import (
    CodeEditor,
    py_to_qt,
    qt_to_py,
    statement_at,
    whole_text_split,
)
from dbplay_desktop.ui.editor.find_replace import EditorPane
from dbplay_desktop.ui.editor.highlighter import LITERAL_PROPERTY
from tests.ui.helpers_editor import (
    SCRIPT_LANGUAGE,
    format_at,
    language,
    new_editor,
    put_cursor,
    settle,
)

SPLIT = language("postgresql").split  # the PostgreSQL engine's splitter

SCRIPT = (
    "SELECT 1;\n"  # 0..9
    "\n"
    "-- the second one\n"
    "SELECT 'a;b' AS x\n"
    "  FROM t;\n"
    "\n"
    "UPDATE t SET x = 1;"
)


@pytest.fixture
def editor(qtbot) -> CodeEditor:
    return new_editor(qtbot)


@pytest.fixture
def shown(qtbot) -> EditorPane:
    pane = EditorPane(language=language("postgresql"))
    qtbot.addWidget(pane)
    pane.resize(700, 400)
    pane.show()
    qtbot.waitExposed(pane)
    pane.editor.setFocus()
    return pane


# --------------------------------------------------------------------------- gutter


def test_line_number_area_grows_with_digits(editor):
    editor.setPlainText("a\n" * 5)
    narrow = editor.line_number_area_width()
    editor.setPlainText("a\n" * 1500)
    wide = editor.line_number_area_width()
    assert wide > narrow
    assert editor.viewportMargins().left() == wide


# --------------------------------------------------------------------------- statements


def test_statement_at_picks_containing_or_previous():
    statements = SPLIT(SCRIPT)
    texts = [s.text.rstrip(";") for s in statements]
    assert texts[0] == "SELECT 1"
    assert texts[-1] == "UPDATE t SET x = 1"

    def at(index: int) -> str:
        found = statement_at(statements, index)
        assert found is not None
        return found.text.rstrip(";")

    assert at(3) == "SELECT 1"
    assert at(len("SELECT 1;")) == "SELECT 1"  # just after ';'
    assert at(len("SELECT 1;\n")) == "SELECT 1"  # the gap after it
    assert "'a;b'" in at(SCRIPT.index("'a;b'"))
    assert "'a;b'" in at(SCRIPT.index("FROM t"))
    assert at(len(SCRIPT)) == "UPDATE t SET x = 1"
    assert statement_at([], 0) is None
    later = [Statement.at("  SELECT 1", 2, 10)]
    assert statement_at(later, 0) == later[0]  # before everything: the first one


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_engine_splitters_keep_offsets(engine):
    statements = language(engine).split(SCRIPT)
    assert statements[0].text.rstrip(";") == "SELECT 1"
    for statement in statements:
        assert SCRIPT[statement.start : statement.end] == statement.text
    assert "'a;b'" in statements[1].text


def test_whole_text_split_keeps_offsets():
    assert whole_text_split("  db.c.find()\n") == [Statement.at("  db.c.find()\n", 2, 13)]
    assert whole_text_split(" \n ") == []


def test_current_statement_and_selection(editor):
    editor.setPlainText(SCRIPT)  # cut by the language spec's splitter
    put_cursor(editor, SCRIPT.index("FROM t"))
    current = editor.current_statement()
    assert current is not None and "'a;b'" in current.text
    text, offset = editor.selected_text_or_statement()
    assert SCRIPT[offset : offset + len(text)] == text and "FROM t" in text

    put_cursor(editor, len(SCRIPT))
    assert editor.current_statement().text.rstrip(";") == "UPDATE t SET x = 1"

    cursor = editor.textCursor()
    cursor.setPosition(SCRIPT.index("UPDATE"))
    cursor.setPosition(SCRIPT.index(" SET"), QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    assert editor.selected_text_or_statement() == ("UPDATE t", SCRIPT.index("UPDATE"))

    editor.setPlainText("   ")
    assert editor.current_statement() is None
    assert editor.selected_text_or_statement()[0] == ""


def test_offsets_are_python_offsets_with_emoji(editor):
    text = "SELECT '😀';\nSELECT 2;"
    editor.setPlainText(text)
    assert py_to_qt(text, len(text)) == len(text) + 1
    assert qt_to_py(text, len(text) + 1) == len(text)
    put_cursor(editor, py_to_qt(text, text.index("2")))
    selected, offset = editor.selected_text_or_statement()
    assert selected.rstrip(";") == "SELECT 2" and offset == text.index("SELECT 2")


# --------------------------------------------------------------------------- keys


def test_run_shortcuts(qtbot, editor):
    editor.setPlainText("SELECT 1;")
    with qtbot.waitSignal(editor.run_current_requested, timeout=1000):
        qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(editor.run_current_requested, timeout=1000):
        qtbot.keyClick(
            editor, Qt.Key.Key_Enter,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.KeypadModifier,
        )  # fmt: skip
    with qtbot.waitSignal(editor.run_all_requested, timeout=1000):
        qtbot.keyClick(
            editor, Qt.Key.Key_Return,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )  # fmt: skip
    assert editor.toPlainText() == "SELECT 1;"  # no newline typed


def test_escape_cancels_unless_completion_is_open(qtbot, shown):
    editor = shown.editor
    with qtbot.waitSignal(editor.cancel_requested, timeout=1000):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)

    editor.set_catalog_names(["customers"])
    qtbot.keyClicks(editor, "SELECT * FROM cu")
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert editor.completer.is_open()
    with qtbot.assertNotEmitted(editor.cancel_requested):
        qtbot.keyClick(editor.completer.popup(), Qt.Key.Key_Escape)
    assert not editor.completer.is_open()
    qtbot.keyClick(editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert editor.completer.is_open()
    with qtbot.assertNotEmitted(editor.cancel_requested):
        qtbot.keyClick(editor, Qt.Key.Key_Escape)  # straight to the editor, too
    assert not editor.completer.is_open()
    assert editor.toPlainText() == "SELECT * FROM cu"


def test_tab_inserts_spaces_and_enter_keeps_indent(qtbot, editor):
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClicks(editor, "ab")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "c")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert editor.toPlainText() == "    ab  \n    c\n    "
    qtbot.keyClick(editor, Qt.Key.Key_Backtab)
    assert editor.toPlainText() == "    ab  \n    c\n"
    assert editor.tabStopDistance() > 0


def test_ctrl_slash_toggles_comments_on_selected_lines(qtbot, editor):
    editor.setPlainText("SELECT 1;\n  SELECT 2;\n\nSELECT 3;")
    cursor = editor.textCursor()
    cursor.setPosition(3)
    cursor.setPosition(len("SELECT 1;\n  SELECT 2;\n\nSE"), QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    qtbot.keyClick(editor, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "-- SELECT 1;\n--   SELECT 2;\n\n-- SELECT 3;"
    qtbot.keyClick(editor, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "SELECT 1;\n  SELECT 2;\n\nSELECT 3;"
    editor.document().undo()
    assert editor.toPlainText().startswith("-- SELECT 1;")

    editor.set_language(SCRIPT_LANGUAGE)  # its spec says "//"
    editor.setPlainText("db.a.find()")
    qtbot.keyClick(editor, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    assert editor.toPlainText() == "// db.a.find()"


# --------------------------------------------------------------------------- format


def test_format_is_one_undo_step(editor):
    assert editor.can_format()
    original = "select a,b from t where a=1 and b=2;"
    editor.setPlainText(original)
    assert editor.format_text()
    formatted = editor.toPlainText()
    assert formatted.startswith("SELECT a,") and "\nFROM t" in formatted
    editor.document().undo()
    assert editor.toPlainText() == original

    editor.setPlainText("select 1;\nselect x from y;")
    cursor = editor.textCursor()
    cursor.setPosition(len("select 1;\n"))
    cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    assert editor.format_sql()  # the former name, which the window still calls
    assert editor.toPlainText().startswith("select 1;\nSELECT x\nFROM y;")
    assert editor.textCursor().selectedText().startswith("SELECT x")


def test_format_is_off_for_a_language_without_formatter(qtbot, editor):
    with qtbot.waitSignal(editor.language_changed, timeout=1000):
        editor.set_language(SCRIPT_LANGUAGE)
    assert not SCRIPT_LANGUAGE.can_format and not editor.can_format()
    editor.setPlainText("db.a.find( {} )")
    with qtbot.waitSignal(editor.status_message, timeout=1000):
        assert editor.format_text() is False
    assert editor.toPlainText() == "db.a.find( {} )"
    editor.set_language(language("sqlite"))
    assert editor.can_format()
    editor.set_language(None)
    assert not editor.can_format()
    assert editor.format_text() is False


# --------------------------------------------------------------------------- languages


def test_sqlite_language_highlights_and_splits_with_its_splitter(qtbot):
    editor = new_editor(qtbot, "sqlite")
    assert editor.highlighter.lexer.name == "SQL"
    assert editor.language() == "sql"
    text = "SELECT 'a;b';\nCREATE TRIGGER t AFTER INSERT ON x BEGIN\n  SELECT 1;\nEND;\nSELECT 3;"
    editor.setPlainText(text)
    settle(qtbot, editor)
    keyword, string = format_at(editor, 0, 0), format_at(editor, 0, 8)
    assert keyword is not None and string is not None
    assert string.property(LITERAL_PROPERTY) == "string"
    assert keyword.foreground() != string.foreground()
    statements = editor.statements()
    assert statements == language("sqlite").split(text)
    assert [s.text.split()[0] for s in statements] == ["SELECT", "CREATE", "SELECT"]
    put_cursor(editor, text.index("SELECT 1"))
    assert editor.current_statement().text.startswith("CREATE TRIGGER")  # a trigger is one


def test_no_language_yet(qtbot):
    editor = CodeEditor()
    qtbot.addWidget(editor)
    assert editor.language_spec() is None and editor.language() == ""
    editor.setPlainText("SELECT 1;\n SELECT 2;")
    settle(qtbot, editor)
    assert format_at(editor, 0, 0) is None  # nothing highlighted
    assert editor.statements() == [Statement.at(editor.all_text(), 0, len(editor.all_text()))]
    assert editor.completer.words() == []
    assert not editor.can_format()
    assert editor.comment_prefix() == "--"


def test_a_new_language_needs_no_edit_of_the_editor(qtbot):
    """A language no engine of dbplay has, described by a spec alone: its lexer, its
    comments, its splitter and its keywords (with ``$`` inside words)."""
    editor = CodeEditor(language=SCRIPT_LANGUAGE)
    qtbot.addWidget(editor)
    assert editor.language() == "javascript" and editor.language_spec() is SCRIPT_LANGUAGE
    assert editor.highlighter.lexer.name == "JavaScript"
    editor.setPlainText("db.a.find()\n\n  db.b.findOne()")
    assert [s.text for s in editor.statements()] == ["db.a.find()", "db.b.findOne()"]
    put_cursor(editor, editor.all_text().index("findOne"))
    assert editor.selected_text_or_statement() == ("db.b.findOne()", 15)

    editor.setPlainText("db.a.find()")
    editor.toggle_comment()
    assert editor.toPlainText() == "// db.a.find()"
    editor.toggle_comment()
    assert editor.toPlainText() == "db.a.find()"

    assert editor.completer.words() == sorted(
        ["db", "find", "findOne", "$match", "$group"], key=str.casefold
    )
    editor.setPlainText("[{$ma")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    assert editor.word_before_cursor() == "$ma"
    editor._open_completion(force=True)
    assert editor.completer.current_text() == "$match"
    editor.completer.hide_popup()


def test_completed_names_are_quoted_the_languages_way(qtbot):
    catalog = [CatalogItem("main", "schema", children=[
        CatalogItem("Order Lines", "table", children=[CatalogItem("qty", "column")]),
        CatalogItem("select", "table"),
        CatalogItem("plain", "table", insert_text="plain"),
    ])]  # fmt: skip
    postgres = new_editor(qtbot)
    postgres.set_catalog(catalog)
    assert '"Order Lines"' in postgres.completer._catalog
    assert '"select"' in postgres.completer._catalog  # a keyword
    assert postgres.completer.relations["order lines"] == ('"Order Lines"', ["qty"])
    script = CodeEditor(language=SCRIPT_LANGUAGE)  # no identifier quote: names stay bare
    qtbot.addWidget(script)
    script.set_catalog(catalog)
    assert {"Order Lines", "select", "plain"} <= set(script.completer._catalog)


def test_a_lexer_name_alone_is_a_language_that_only_highlights(qtbot):
    editor = CodeEditor(language="javascript")
    qtbot.addWidget(editor)
    assert editor.highlighter.lexer.name == "JavaScript"
    editor.setPlainText("a();\nb();")
    assert len(editor.statements()) == 1
    assert editor.completer.words() == [] and not editor.can_format()
    assert not editor.set_language(LanguageSpec("x", "no-such-lexer", ""))


# --------------------------------------------------------------------------- find/replace


def test_find_next_previous_and_replace_all(qtbot, shown):
    editor, bar = shown.editor, shown.find_bar
    editor.setPlainText("select Foo, foo, foobar from foo;")
    qtbot.keyClick(editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and not bar.replace_edit.isVisible()
    assert bar.find_edit.hasFocus()
    qtbot.keyClick(editor, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.replace_edit.isVisible()
    bar.find_edit.setText("foo")
    bar.refresh()
    assert bar.match_count() == 4
    assert len(editor.extraSelections()) >= 5  # current line + 4 matches

    put_cursor(editor, 0)
    assert bar.find_next()
    assert editor.textCursor().selectionStart() == 7
    bar.find_next()
    assert editor.textCursor().selectionStart() == 12
    bar.find_previous()
    assert editor.textCursor().selectionStart() == 7
    bar.find_previous()  # wraps to the last one
    assert editor.textCursor().selectionStart() == 29

    bar.case_button.setChecked(True)
    bar.word_button.setChecked(True)
    assert bar.match_count() == 2

    bar.replace_edit.setText("bar")
    assert bar.replace_all() == 2
    assert editor.toPlainText() == "select Foo, bar, foobar from bar;"
    editor.document().undo()
    assert editor.toPlainText() == "select Foo, foo, foobar from foo;"

    bar.word_button.setChecked(False)
    bar.regex_button.setChecked(True)
    bar.find_edit.setText(r"f(o+)")
    bar.replace_edit.setText(r"F\1")
    bar.refresh()
    put_cursor(editor, 0)
    bar.find_next()
    assert bar.replace_current()
    assert editor.toPlainText() == "select Foo, Foo, foobar from foo;"

    bar.find_edit.setText("(")
    bar.refresh()
    assert bar.count_label.text() == "Invalid pattern"

    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    assert len(editor.extraSelections()) == 1


# --------------------------------------------------------------------------- completion


def test_completion_offers_catalog_names(qtbot, shown):
    editor = shown.editor
    catalog = [
        CatalogItem("public", "schema", children=[
            CatalogItem("customers", "table", children=[CatalogItem("email", "column")]),
            CatalogItem("Order Lines", "table", insert_text='"Order Lines"'),
        ]),
    ]  # fmt: skip
    names = names_from_catalog(catalog)
    assert names == ["public", "customers", "email", '"Order Lines"']
    editor.set_catalog_names(names)

    qtbot.keyClicks(editor, "SELECT * FROM cus")
    qtbot.waitUntil(editor.completer.is_open, timeout=3000)
    assert editor.completer.current_text() == "customers"
    qtbot.keyClick(editor.completer.popup(), Qt.Key.Key_Tab)
    assert editor.toPlainText() == "SELECT * FROM customers"
    assert not editor.completer.is_open()

    qtbot.keyClicks(editor, " wher")
    qtbot.waitUntil(editor.completer.is_open, timeout=3000)
    assert editor.completer.current_text() == "where"  # keywords follow the typed case
    qtbot.keyClick(editor.completer.popup(), Qt.Key.Key_Return)
    assert editor.toPlainText() == "SELECT * FROM customers where"

    qtbot.keyClicks(editor, ' AND "Ord')
    qtbot.waitUntil(editor.completer.is_open, timeout=3000)
    qtbot.keyClick(editor.completer.popup(), Qt.Key.Key_Down)  # past the keyword ORDER
    qtbot.keyClick(editor.completer.popup(), Qt.Key.Key_Return)
    assert editor.toPlainText() == 'SELECT * FROM customers where AND "Order Lines"'

    qtbot.keyClicks(editor, " 'cu")  # no popup inside strings
    qtbot.waitUntil(lambda: not editor._completion_timer.isActive(), timeout=5000)
    assert not editor.completer.is_open()


# --------------------------------------------------------------------------- errors


def test_mark_error_underlines_and_clears_on_edit(qtbot, editor):
    text = "SELECT 1;\nSELEC 2;\n"
    editor.setPlainText(text)
    start = text.index("SELEC 2")
    editor.mark_error(start, start + len("SELEC 2;"), 'syntax error at or near "SELEC"')
    marks = [
        s for s in editor.extraSelections()
        if s.format.underlineStyle() == s.format.UnderlineStyle.WaveUnderline
    ]  # fmt: skip
    assert len(marks) == 1
    assert marks[0].cursor.selectionStart() == start
    assert editor.textCursor().position() == start
    assert editor.error_marks() == [(start, start + 8, 'syntax error at or near "SELEC"')]
    assert editor.error_message_at(start + 2) == 'syntax error at or near "SELEC"'
    assert editor.error_message_at(1) is None

    editor.show()
    probe = editor.textCursor()
    probe.setPosition(start + 2)
    point = editor.cursorRect(probe).center()
    help_event = QHelpEvent(QEvent.Type.ToolTip, point, editor.viewport().mapToGlobal(point))
    QApplication.sendEvent(editor.viewport(), help_event)
    assert QToolTip.text() == 'syntax error at or near "SELEC"'

    qtbot.keyClicks(editor, "x")
    assert editor.error_marks() == []
    assert all(
        s.format.underlineStyle() != s.format.UnderlineStyle.WaveUnderline
        for s in editor.extraSelections()
    )


def test_screenshot(qtbot, shown):
    editor = shown.editor
    editor.setPlainText(
        "-- customers and what they spent\n"
        "SELECT c.id, c.name, sum(o.total) AS spent\n"
        "FROM customers c JOIN orders o ON o.customer_id = c.id\n"
        "WHERE o.created_at > now() - interval '30 days'\n"
        "GROUP BY c.id, c.name;\n"
    )
    settle(qtbot, editor)
    pixmap = shown.grab()
    assert not pixmap.isNull()
    assert pixmap.toImage().pixelColor(QPoint(2, 2)).isValid()
