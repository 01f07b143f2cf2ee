"""A playground tab on the real test PostgreSQL: run, errors, cancel, streaming, reset."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCursor

from tests.ui.conftest import run_and_wait, wait_ready


def _put_cursor(editor, offset: int) -> None:
    cursor = editor.textCursor()
    cursor.setPosition(offset)
    editor.setTextCursor(cursor)


def test_open_template_runs_one_selected_and_all(qtbot, main_window, shop_template):
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    assert "customers" in main_window.catalog_tree.names()
    editor = playground.editor
    text = "SELECT name FROM customers ORDER BY id;\nSELECT count(*) FROM orders;\n"
    editor.setPlainText(text)

    # One statement: the one under the cursor (line 2).
    _put_cursor(editor, text.index("count"))
    run_and_wait(qtbot, playground, "current")
    models = playground.result_models()
    assert len(models) == 1
    assert models[0].value(0, 0) == 3

    # The selection only.
    cursor = editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(text.index(";") + 1, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    run_and_wait(qtbot, playground, "current")
    models = playground.result_models()
    assert [models[0].value(i, 0) for i in range(3)] == ["Ada", "Grace", "Linus"]

    # Everything: one result tab per statement that returned rows.
    run_and_wait(qtbot, playground, "all")
    assert len(playground.result_models()) == 2
    assert playground.results_tabs.count() == 3  # Messages + 2 results
    assert playground.modified is False  # plain SELECTs change nothing


def test_error_in_the_middle_of_a_batch(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    text = (
        "CREATE TABLE t (id int);\n"
        "INSERT INTO t VALUES (1), (2);\n"
        "SELECT *\n  FROM missing_table;\n"
        "INSERT INTO t VALUES (3);\n"
    )
    playground.editor.setPlainText(text)
    run_and_wait(qtbot, playground)
    messages = playground.message_texts()
    assert messages[0].startswith("CREATE TABLE")
    assert "INSERT 0 2" in messages[1]
    assert "line 4" in messages[2] and "missing_table" in messages[2]
    # Nothing ran after the error, and the statement that did not run says so.
    assert messages[3:] == ["Not run: INSERT INTO t VALUES (3)"]
    assert playground.messages.kinds() == ["ok", "ok", "error", "skipped"]
    marks = playground.editor.error_marks()
    assert marks and marks[0][0] == text.index("missing_table")
    assert playground.results_tabs.currentWidget() is playground.messages
    assert playground.modified  # statements 1 and 2 changed the database
    qtbot.waitUntil(lambda: "t" in main_window.catalog_tree.names(), timeout=10_000)


def test_error_position_maps_back_when_running_a_selection(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    text = "SELECT 1;\n\nSELECT 2;\nSELECT nope FROM (SELECT 1 AS x) s;\n"
    playground.editor.setPlainText(text)
    _put_cursor(playground.editor, text.index("nope") + 1)
    run_and_wait(qtbot, playground, "current")
    marks = playground.editor.error_marks()
    assert marks and marks[0][0] == text.index("nope")
    assert "line 4" in playground.message_texts()[-1]


def test_cancel_a_long_query(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("SELECT pg_sleep(30);")
    # The run ends well before the 30 s sleep would (the wait's limit): the cancel did it.
    with qtbot.waitSignal(playground.run_finished, timeout=15_000):
        assert playground.run_all()
        qtbot.waitUntil(lambda: playground.results.clock.elapsed() > 0.2, timeout=10_000)
        assert main_window.stop_action.isEnabled()
        main_window.stop_action.trigger()
    assert any("cancel" in m.lower() for m in playground.message_texts())
    assert not playground.is_running


def test_heartbeat_keeps_firing_while_rows_stream(qtbot, main_window):
    main_window.app_settings.row_cap = 150_000
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    # Rows received when each heartbeat was served: the UI thread keeps serving timers
    # between batches, however long the stream takes, rather than after all of them.
    seen: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)

    def beat() -> None:
        models = playground.result_models()
        seen.append(models[0].received_count if models else 0)

    heartbeat.timeout.connect(beat)
    playground.editor.setPlainText("SELECT g, md5(g::text) FROM generate_series(1, 200000) g;")
    heartbeat.start()
    run_and_wait(qtbot, playground, timeout=60_000)
    heartbeat.stop()
    model = playground.result_models()[0]
    assert model.received_count == main_window.app_settings.row_cap
    assert model.more_available
    during = {count for count in seen if 0 < count < model.received_count}
    assert len(during) >= 3, sorted(during)


def test_reset_restores_the_template_into_a_new_database(qtbot, main_window, shop_template,
                                                         pg_engine):
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    old_database = playground.database
    playground.editor.setPlainText("DELETE FROM orders;")
    run_and_wait(qtbot, playground)
    assert playground.modified
    assert main_window.reset_action.isEnabled()
    main_window.reset_action.trigger()
    qtbot.waitUntil(lambda: playground.state == "ready" and playground.database != old_database,
                    timeout=30_000)
    assert not playground.modified
    playground.editor.setPlainText("SELECT count(*) FROM orders;")
    run_and_wait(qtbot, playground)
    assert playground.result_models()[0].value(0, 0) == 3
    qtbot.waitUntil(lambda: old_database not in pg_engine.list_databases(), timeout=10_000)


def test_a_template_opens_with_its_name_and_description_as_comments(qtbot, main_window,
                                                                    shop_template):
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    editor = playground.editor
    assert editor.toPlainText() == "-- Test shop\n-- made by a test\n\n"
    assert editor.textCursor().position() == len(editor.toPlainText())
    assert not playground.modified and not editor.document().isModified()
    index = main_window.tabs.indexOf(playground)
    assert main_window.tabs.tabText(index) == "Test shop"  # no "•"
    assert not playground.run_all()  # comments only: nothing runs
    assert playground.template_description == "made by a test"
    blank = main_window.new_playground()
    wait_ready(qtbot, blank)
    assert blank.editor.toPlainText() == ""


def test_the_header_uses_the_editors_comment_syntax(qtbot, shop_template):
    from dbplay_desktop.ui.playground.playground import Playground, template_header

    playground = Playground(shop_template)  # no engine yet: it waits for the server
    qtbot.addWidget(playground)
    assert playground.editor.toPlainText() == "-- Test shop\n-- made by a test\n\n"
    # An engine whose language comments with // (MongoDB's JavaScript) rewrites it...
    from dbplay_desktop.engines.descriptor import LanguageSpec
    from dbplay_desktop.ui.playground.playground import apply_language

    javascript = LanguageSpec(name="JavaScript", lexer="javascript", comment_prefix="//",
                              splitter="dbplay_desktop.engines.sqlite.script:split_sql")
    apply_language(playground.editor, javascript)
    playground._show_template_header()
    assert playground.editor.toPlainText() == "// Test shop\n// made by a test\n\n"
    # ...but never text the user typed meanwhile.
    playground.editor.setPlainText("db.orders.find()")
    playground.editor.set_language("sql")
    playground._show_template_header()
    assert playground.editor.toPlainText() == "db.orders.find()"
    assert template_header("Shop", "", "#") == "# Shop\n\n"
    assert template_header("Shop", "line one\n\nline two") == (
        "-- Shop\n-- line one\n--\n-- line two\n\n"
    )
