"""The results grid widget: copy, cell viewer, footer, export, and a UI that keeps
breathing while a million rows stream in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QThreadPool, QTimer
from PySide6.QtGui import QGuiApplication

from dbplay_desktop.engines.base import Column, Statement, StatementResult
from dbplay_desktop.ui.results.cell_viewer import CellViewer, hex_dump
from dbplay_desktop.ui.results.model import QueryRunner, ResultsModel, stream_result
from dbplay_desktop.ui.results.view import ResultsView, format_elapsed

COLUMNS = [Column("id", "int4"), Column("name", "text"), Column("id", "int4")]
ROWS = [(1, "plain", 10), (2, None, 20), (3, "", None), (4, "tab\tand\nnewline ✓", 40)]


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


@pytest.fixture
def view(qtbot) -> ResultsView:
    model = ResultsModel()
    model.set_columns(COLUMNS)
    model.append_rows(ROWS)
    model.finish(True, False, elapsed=0.0123)
    widget = ResultsView(model)
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def select(view: ResultsView, top: int, left: int, bottom: int, right: int) -> None:
    model = view.model()
    selection = view.table.selectionModel()
    selection.clearSelection()
    for row in range(top, bottom + 1):
        for column in range(left, right + 1):
            selection.select(model.index(row, column), QItemSelectionModel.SelectionFlag.Select)
    selection.setCurrentIndex(model.index(top, left), QItemSelectionModel.SelectionFlag.NoUpdate)


def test_footer_shows_summary_and_time(view):
    assert view.summary_label.text() == "4 rows"
    assert view.elapsed_label.text() == "12 ms"
    assert format_elapsed(1.5) == "1.50 s" and format_elapsed(125) == "2 min 5 s"
    assert format_elapsed(None) == ""


def test_copy_formats_of_the_whole_selection(view):
    view.table.selectAll()
    assert view.selection_text("tsv", header=True) == (
        'id\tname\tid\n1\tplain\t10\n2\t\t20\n3\t""\t\n4\t"tab\tand\nnewline ✓"\t40'
    )
    assert view.selection_text("csv") == (
        'id,name,id\n1,plain,10\n2,,20\n3,"",\n4,"tab\tand\nnewline ✓",40'
    )
    text = view.selection_text("json")
    assert text == (
        "[\n"
        '  {"id": 1, "name": "plain", "id_2": 10},\n'
        '  {"id": 2, "name": null, "id_2": 20},\n'
        '  {"id": 3, "name": "", "id_2": null},\n'
        '  {"id": 4, "name": "tab\\tand\\nnewline ✓", "id_2": 40}\n'
        "]"
    )
    assert json.loads(text)[3]["name"] == "tab\tand\nnewline ✓"
    assert view.selection_text("markdown") == (
        "| id | name | id |\n| --- | --- | --- |\n| 1 | plain | 10 |\n"
        "| 2 | *NULL* | 20 |\n| 3 |  | *NULL* |\n| 4 | tab\tand<br>newline ✓ | 40 |"
    )


def test_ctrl_c_copies_tsv_and_a_single_cell_as_its_value(view, qtbot):
    select(view, 0, 0, 1, 1)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "1\tplain\n2\t"
    select(view, 3, 1, 3, 1)
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "tab\tand\nnewline ✓"


def test_context_menu_copies_as_markdown(view):
    select(view, 0, 1, 1, 1)
    menu = view.build_menu()
    labels = [action.text() for action in menu.actions() if action.text()]
    assert labels == ["Copy", "Copy with header", "Copy as CSV", "Copy as JSON",
                      "Copy as Markdown", "Open value…", "Export all rows as CSV…",
                      "Export all rows as JSON…"]  # fmt: skip
    next(a for a in menu.actions() if a.text() == "Copy as Markdown").trigger()
    assert QGuiApplication.clipboard().text() == "| name |\n| --- |\n| plain |\n| *NULL* |"


def _viewers(view: ResultsView) -> list[CellViewer]:
    return [v for v in view.findChildren(CellViewer) if v.isVisible()]


def test_double_click_and_enter_open_the_cell_viewer_for_rich_values(qtbot):
    model = ResultsModel()
    model.set_columns([Column("doc", "jsonb"), Column("blob", "bytea"), Column("n", "int4")])
    model.append_rows([({"a": {"b": [1, 2]}, "c": None}, b"hello\x00world", 5)])
    model.finish()
    view = ResultsView(model)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)

    view.table.doubleClicked.emit(model.index(0, 2))  # a short number: nothing to show
    assert _viewers(view) == []
    view.table.doubleClicked.emit(model.index(0, 0))
    (doc_viewer,) = _viewers(view)
    assert doc_viewer.copy_text == (
        '{\n  "a": {\n    "b": [\n      1,\n      2\n    ]\n  },\n  "c": null\n}'
    )
    tree = doc_viewer.tree_view.model()
    assert tree.rowCount() == 2 and tree.index(0, 0).data() == "a"
    assert tree.index(0, 2).data() == "object (1)" and tree.index(1, 2).data() == "null"
    doc_viewer.copy_button.click()
    assert QGuiApplication.clipboard().text() == doc_viewer.copy_text
    doc_viewer.close()

    view.table.setCurrentIndex(model.index(0, 1))
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    (hex_viewer,) = _viewers(view)
    assert hex_viewer.copy_text == "\\x68656c6c6f00776f726c64"
    assert hex_viewer.hex_view.toPlainText() == hex_dump(b"hello\x00world")
    assert hex_dump(b"hello\x00world") == (
        "00000000  68 65 6c 6c 6f 00 77 6f 72 6c 64                 hello.world"
    )
    hex_viewer.close()


def test_export_csv_and_json_files(view, qtbot, tmp_path):
    target = tmp_path / "result.csv"
    with qtbot.waitSignal(view.export_finished, timeout=10_000) as finished:
        view.export(target, "csv")
    assert finished.args == [str(target)]
    assert target.read_text(encoding="utf-8") == (
        'id,name,id\n1,plain,10\n2,,20\n3,"",\n4,"tab\tand\nnewline ✓",40\n'
    )
    qtbot.waitUntil(lambda: view._export_worker is None)
    target = tmp_path / "result.json"
    with qtbot.waitSignal(view.export_finished, timeout=10_000):
        view.export(target, "json")
    assert json.loads(target.read_text(encoding="utf-8"))[1] == {"id": 2, "name": None, "id_2": 20}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.csv", "result.json"]


def test_export_failure_and_cancel(qtbot, tmp_path):
    model = ResultsModel(cap=None)
    model.set_columns([Column("n", "int4")])
    model.append_rows([(i,) for i in range(300_000)])
    model.finish()
    view = ResultsView(model)
    qtbot.addWidget(view)

    with qtbot.waitSignal(view.export_failed, timeout=10_000) as failed:
        view.export(tmp_path / "missing" / "x.csv", "csv")
    (message,) = failed.args
    assert message.startswith("Could not export to ") and "\n" not in message
    qtbot.waitUntil(lambda: view._export_worker is None)

    target = tmp_path / "big.csv"
    with qtbot.waitSignal(view.export_cancelled, timeout=20_000):
        view.export(target, "csv")
        view.cancel_export()
    assert not target.exists() and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- heartbeat


class Heartbeat:
    """Counts QTimer ticks on the UI thread and the longest gap between them."""

    def __init__(self, interval_ms: int = 10, probe=None) -> None:
        self.ticks = 0
        self.longest_gap = 0.0
        #: What ``probe()`` said at each tick (e.g. rows received so far).
        self.seen: list[object] = []
        self._probe = probe
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.ticks:  # from the first tick on: the start-up is not a stall
            self.longest_gap = max(self.longest_gap, now - self._last)
        self._last = now
        self.ticks += 1
        if self._probe is not None:
            self.seen.append(self._probe())

    def mid_stream(self, total: int) -> int:
        """Ticks that ran while rows were still arriving (0 < received < total): the event
        loop kept turning during the stream, whatever the machine's speed."""
        return len({value for value in self.seen if 0 < value < total})

    def stop(self) -> None:
        self.timer.stop()


def million_rows(batch: int = 500) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, 1_000_000, batch):
        yield [(i, f"row {i}") for i in range(start, start + batch)]


def test_ui_keeps_serving_events_while_a_million_rows_stream_in(qtbot):
    model = ResultsModel(cap=None)
    view = ResultsView(model)
    qtbot.addWidget(view)
    view.resize(800, 400)
    view.show()
    qtbot.waitExposed(view)
    result = StatementResult(
        index=0,
        statement=Statement.at("select *", 0, 8),
        columns=[Column("n", "int8"), Column("label", "text")],
        _batches=million_rows(),
    )
    heartbeat = Heartbeat(probe=lambda: model.received_count)
    started = time.perf_counter()
    with qtbot.waitSignal(model.finished, timeout=120_000):
        stream_result(result, model)
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    print(f"\n1M rows in {elapsed:.2f} s: {heartbeat.ticks} ticks, "
          f"longest stall {heartbeat.longest_gap * 1000:.0f} ms")  # fmt: skip
    assert model.received_count == 1_000_000
    assert model.rowCount() < 10_000  # the view was given pages, not a million rows
    assert view.summary_label.text() == "1,000,000 rows"
    assert heartbeat.mid_stream(1_000_000) >= 5  # timers kept firing between batches
    view.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > 500)  # scrolling down fetches more


def test_heartbeat_during_a_postgres_million_row_stream(qtbot, pg_session):
    try:
        runner = QueryRunner(pg_session, cap=None)
        model = ResultsModel(cap=None)
        view = ResultsView(model)
        qtbot.addWidget(view)
        view.show()
        runner.statement_started.connect(lambda _i, r: model.set_columns(r.columns))
        runner.batch.connect(lambda _i, rows: model.append_rows(rows))
        runner.statement_finished.connect(
            lambda _i, r, more: model.finish(r.error is None, more, elapsed=r.elapsed)
        )
        heartbeat = Heartbeat(probe=lambda: model.received_count)
        started = time.perf_counter()
        with qtbot.waitSignal(runner.all_done, timeout=180_000):
            runner.run("select generate_series(1, 1000000) as n")
        elapsed = time.perf_counter() - started
        heartbeat.stop()
        print(f"\nPG 1M rows in {elapsed:.2f} s: {heartbeat.ticks} ticks, "
              f"longest stall {heartbeat.longest_gap * 1000:.0f} ms")  # fmt: skip
        assert model.summary() == "1,000,000 rows"
        assert heartbeat.mid_stream(1_000_000) >= 5
        assert model.index(0, 0).data() == "1"
        assert model.canFetchMore(QModelIndex())
    finally:
        QThreadPool.globalInstance().waitForDone(30_000)  # before the fixture closes the session
