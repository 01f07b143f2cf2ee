"""The history panel over a real SQLite history file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from dbplay_desktop.history import QueryHistory
from dbplay_desktop.ui.results.history_panel import (
    COL_DATABASE,
    COL_ELAPSED,
    COL_QUERY,
    COL_ROWS,
    COL_TIME,
    SEARCH_DELAY_MS,
    HistoryPanel,
    format_elapsed,
)
from tests.ui.conftest import answer_confirmations


@pytest.fixture
def history(tmp_path: Path):
    with QueryHistory(tmp_path / "history.sqlite3") as h:
        yesterday = datetime.now(timezone.utc) - timedelta(days=1)
        h.add("SELECT * FROM customers\nWHERE id = 1;", connection="Embedded PostgreSQL",
              database="pg_shop", elapsed_s=0.004, rows=1, executed_at=yesterday)
        h.add("CREATE TABLE t (id int);", connection="staging", database="app",
              elapsed_s=0.12)
        h.add("SELEC broken", connection="Embedded PostgreSQL", database="pg_shop",
              ok=False, error='syntax error at or near "SELEC"', elapsed_s=0.001)
        h.add("SELECT count(*) FROM Orders", connection="Embedded PostgreSQL",
              database="pg_shop", elapsed_s=2.5, rows=123456)
        yield h


@pytest.fixture
def panel(qtbot, history: QueryHistory) -> HistoryPanel:
    widget = HistoryPanel(history)
    qtbot.addWidget(widget)
    widget.resize(760, 240)
    widget.show()
    return widget


def shown_queries(panel: HistoryPanel) -> list[str]:
    return [panel.tree.topLevelItem(i).text(COL_QUERY)
            for i in range(panel.tree.topLevelItemCount())]


def test_lists_newest_first_with_details(panel: HistoryPanel) -> None:
    assert shown_queries(panel) == [
        "SELECT count(*) FROM Orders",
        "SELEC broken",
        "CREATE TABLE t (id int);",
        "SELECT * FROM customers WHERE id = 1;",  # the whole query, on one line
    ]
    newest = panel.tree.topLevelItem(0)
    assert newest.text(COL_DATABASE) == "pg_shop"
    assert newest.text(COL_ELAPSED) == "2.50 s"
    assert newest.text(COL_ROWS) == "123,456"
    assert len(newest.text(COL_TIME)) == 8  # today: HH:MM:SS
    oldest = panel.tree.topLevelItem(3)
    assert len(oldest.text(COL_TIME)) == 16  # another day: YYYY-MM-DD HH:MM
    assert oldest.toolTip(COL_QUERY).startswith("SELECT * FROM customers\nWHERE id = 1;")
    failed = panel.tree.topLevelItem(1)
    assert 'Error: syntax error at or near "SELEC"' in failed.toolTip(COL_QUERY)
    assert panel.tree.topLevelItem(2).text(COL_ROWS) == ""


def test_search_filters_case_insensitively(qtbot, panel: HistoryPanel) -> None:
    qtbot.keyClicks(panel.search_edit, "orders")
    qtbot.waitUntil(lambda: shown_queries(panel) == ["SELECT count(*) FROM Orders"],
                    timeout=SEARCH_DELAY_MS * 10)
    panel.search_edit.clear()
    panel.refresh()
    assert len(shown_queries(panel)) == 4


def test_connection_filter(panel: HistoryPanel) -> None:
    assert not panel.connection_only.isVisibleTo(panel)
    panel.set_connection("staging")
    assert panel.connection_only.isVisibleTo(panel)
    panel.connection_only.setChecked(True)
    assert shown_queries(panel) == ["CREATE TABLE t (id int);"]
    panel.connection_only.setChecked(False)
    assert len(shown_queries(panel)) == 4


def test_double_click_and_run_again_request_a_rerun(qtbot, panel: HistoryPanel) -> None:
    assert not panel.rerun_action.isEnabled()
    item = panel.tree.topLevelItem(3)
    rect = panel.tree.visualItemRect(item)
    qtbot.waitExposed(panel)
    # A real double-click: the view needs the press that precedes the second click.
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(panel.rerun_requested, timeout=1000) as blocker:
        qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton,
                          pos=rect.center())
    assert blocker.args == ["SELECT * FROM customers\nWHERE id = 1;"]

    panel.select_row(1)
    assert panel.rerun_action.isEnabled()
    with qtbot.waitSignal(panel.rerun_requested, timeout=1000) as blocker:
        panel.rerun_action.trigger()
    assert blocker.args == ["SELEC broken"]
    with qtbot.waitSignal(panel.open_requested, timeout=1000) as blocker:
        panel.open_action.trigger()
    assert blocker.args == ["SELEC broken"]


def test_copy_puts_full_text_on_clipboard(panel: HistoryPanel) -> None:
    panel.select_row(3)
    panel.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == "SELECT * FROM customers\nWHERE id = 1;"


def test_refresh_shows_new_runs_and_keeps_selection(panel: HistoryPanel,
                                                    history: QueryHistory) -> None:
    panel.select_row(0)
    selected = panel.selected_entry()
    history.add("SELECT now()", database="pg_shop", elapsed_s=0.002, rows=1)
    panel.refresh()
    assert shown_queries(panel)[0] == "SELECT now()"
    assert panel.selected_entry() == selected


def test_clear_history_asks_first(panel: HistoryPanel, history: QueryHistory,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    answer_confirmations(monkeypatch, "Cancel")
    panel.clear_history()
    assert len(history) == 4
    answer_confirmations(monkeypatch, "Clear history")
    panel.clear_history()
    assert len(history) == 0 and shown_queries(panel) == []
    assert not panel.clear_action.isEnabled()


def test_format_elapsed() -> None:
    assert format_elapsed(0.0042) == "4 ms"
    assert format_elapsed(2.414) == "2.41 s"
    assert format_elapsed(185) == "3 min 05 s"


def test_panel_screenshot(qtbot, panel: HistoryPanel, tmp_path: Path) -> None:
    panel.select_row(1)
    qtbot.waitExposed(panel)
    assert panel.grab().save(str(tmp_path / "history.png"))
