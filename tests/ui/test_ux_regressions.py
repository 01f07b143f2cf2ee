"""What a walk through the real window found clumsy, pinned so it stays fixed.

Each test names the problem a user met: completion that offered keywords after
``alias.``, a history list that read "-- Shop", a Preferences item without a key on
Linux, an export that finished without a word, and so on.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QKeySequence, QTextCursor
from PySide6.QtWidgets import QMainWindow

from dbplay_desktop.engines.base import CatalogItem, Column
from dbplay_desktop.history import QueryHistory
from dbplay_desktop.ui.cell_viewer import CellViewer
from dbplay_desktop.ui.completer import context_words, relations_from_catalog
from dbplay_desktop.ui.editor import CodeEditor
from dbplay_desktop.ui.history_panel import COL_QUERY, HistoryPanel, query_summary
from dbplay_desktop.ui.results_model import ResultsModel
from dbplay_desktop.ui.results_view import ResultsView
from tests.ui.conftest import run_and_wait, wait_ready


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


def _shop_catalog() -> list[CatalogItem]:
    def table(name: str, *columns: str, kind: str = "table") -> CatalogItem:
        return CatalogItem(name, kind, insert_text=name,
                           children=[CatalogItem(c, "column", "text", c) for c in columns])

    return [CatalogItem("public", "schema", insert_text="public", children=[
        table("customers", "id", "name", "email"),
        table("orders", "id", "customer_id", "status"),
        table("order_totals", "order_id", "customer", "total", kind="view"),
    ])]  # fmt: skip


# --------------------------------------------------------------------------- completion


def test_alias_dot_completes_that_tables_columns_not_keywords():
    relations = relations_from_catalog(_shop_catalog())
    statement = "select * from customers c join orders as o on o. where c."
    assert context_words("select * from customers c where c.", statement, relations,
                         "postgresql") == ["id", "name", "email"]
    before = "select * from customers c join orders as o on o."
    assert context_words(before, statement, relations, "postgresql") == [
        "id", "customer_id", "status"]
    # A table name works as its own qualifier; an unknown one falls back to everything.
    assert context_words("select orders.", "select orders.", relations, "postgresql") == [
        "id", "customer_id", "status"]
    assert context_words("select x.", "select x.", relations, "postgresql") is None


def test_after_from_tables_come_first():
    relations = relations_from_catalog(_shop_catalog())
    words = context_words("select * from ", "select * from cus", relations, "postgresql")
    assert words == ["customers", "orders", "order_totals"]
    assert context_words("select ", "select cus", relations, "postgresql") is None
    # Other languages keep the plain word list.
    assert context_words("db.", "db.", relations, "javascript") is None


def test_editor_popup_after_alias_lists_columns(qtbot):
    editor = CodeEditor(language="postgresql")
    qtbot.addWidget(editor)
    editor.show()
    catalog = _shop_catalog()
    from dbplay_desktop.ui.completer import names_from_catalog

    editor.set_catalog_names(names_from_catalog(catalog))
    editor.set_catalog_relations(relations_from_catalog(catalog))
    editor.setPlainText("select * from customers c where c.")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor._open_completion(force=True)
    shown = editor.completer.completionModel()
    words = [shown.index(i, 0).data() for i in range(shown.rowCount())]
    assert sorted(words) == ["email", "id", "name"]

    # "from cus" offers the table before the column "customer" of a view.
    editor.setPlainText("select * from cus")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor._open_completion(force=True)
    assert editor.completer.current_text() == "customers"
    editor.completer.hide_popup()
    # Anywhere else every word is on offer again.
    editor.setPlainText("select cus")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor._open_completion(force=True)
    assert editor.completer.current_text() == "customer"
    editor.completer.hide_popup()


# --------------------------------------------------------------------------- history


def test_history_shows_the_query_not_its_header_comment(qtbot, tmp_path: Path):
    assert query_summary("-- Shop\n-- A small shop\n\nselect 1;\nselect 2;") == (
        "select 1; select 2;")
    assert query_summary("SELECT c.name,\n       count(*)\nFROM customers c") == (
        "SELECT c.name, count(*) FROM customers c")
    assert query_summary("-- only a comment") == "-- only a comment"
    assert len(query_summary("select " + "x, " * 500)) == 300
    with QueryHistory(tmp_path / "h.sqlite3") as history:
        history.add("-- Shop\n-- header\n\nSELECT *\nFROM customers;", database="db")
        panel = HistoryPanel(history)
        qtbot.addWidget(panel)
        assert panel.tree.topLevelItem(0).text(COL_QUERY) == "SELECT * FROM customers;"


# --------------------------------------------------------------------------- window chrome


def test_preferences_has_a_shortcut_and_stop_names_esc(main_window):
    keys = main_window.preferences_action.shortcut()
    assert not keys.isEmpty()  # Ctrl+, where the platform has no Preferences key
    assert "()" not in main_window.preferences_action.toolTip()
    assert "Esc" in main_window.stop_action.toolTip()
    # Every tool bar button says what it does, with its key where it has one.
    for action in main_window.top_bar.actions():
        if action.isSeparator():
            continue
        assert action.toolTip(), action.text()
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if shortcut:
            assert shortcut in action.toolTip()


def test_cancel_says_query_cancelled(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("SELECT pg_sleep(30);")
    with qtbot.waitSignal(playground.run_finished, timeout=15_000):
        assert playground.run_all()
        qtbot.wait(300)
        main_window.stop_action.trigger()
    assert playground.message_texts()[-1].startswith("Query cancelled: ")
    # And a normal run afterwards still works.
    playground.editor.setPlainText("SELECT 1;")
    run_and_wait(qtbot, playground)
    assert playground.result_models()[0].value(0, 0) == 1


# --------------------------------------------------------------------------- results


def _capped_view(qtbot) -> ResultsView:
    model = ResultsModel(cap=3)
    model.set_columns([Column("n", "int4")])
    model.append_rows([(1,), (2,), (3,)])
    model.finish(True, True)  # the cap was reached, the server had more
    view = ResultsView(model)
    qtbot.addWidget(view)
    return view


def test_capped_export_says_how_many_rows_and_footer_explains_the_cap(qtbot):
    view = _capped_view(qtbot)
    labels = [a.text() for a in view.build_menu().actions() if a.text().startswith("Export")]
    assert labels == ["Export 3 Fetched Rows as CSV…", "Export 3 Fetched Rows as JSON…"]
    assert view.summary_label.text() == "3 of >3 rows"
    assert "row cap" in view.summary_label.toolTip()


def test_finished_export_is_announced_in_the_status_bar(qtbot, tmp_path: Path):
    window = QMainWindow()
    qtbot.addWidget(window)
    view = _capped_view(qtbot)
    window.setCentralWidget(view)
    window.show()
    target = tmp_path / "out.csv"
    with qtbot.waitSignal(view.export_finished, timeout=10_000):
        view.export(target, "csv")
    assert target.read_text(encoding="utf-8") == "n\n1\n2\n3\n"
    assert view.export_message == f"Exported 3 rows to {target}"
    assert window.statusBar().currentMessage() == view.export_message


def test_cell_viewer_names_the_column_above_the_value(qtbot):
    viewer = CellViewer({"a": 1, "b": 2}, "doc: jsonb")
    qtbot.addWidget(viewer)
    assert viewer.summary_label.text() == "doc: jsonb — object (2)"
    plain = CellViewer("x" * 10)
    qtbot.addWidget(plain)
    assert plain.summary_label.text() == "10 characters"
