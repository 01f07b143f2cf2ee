"""The results model and its feeder: fetch-more paging, generations, caps, display roles,
streaming one result in, and stopping when the model goes away."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, Qt, QThreadPool
from PySide6.QtGui import QGuiApplication, QPalette

from dbplay_desktop.engines.base import Column
from dbplay_desktop.ui.results.cell_viewer import CellViewer
from dbplay_desktop.ui.results.model import IsNullRole, RawValueRole, ResultsModel
from dbplay_desktop.ui.results.stream import capped_batches, stream_result
from dbplay_desktop.values import MISSING, MISSING_TOOLTIP, Vector, plain_text
from tests.ui.helpers_results import batches_of, make_result


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


# --------------------------------------------------------------------------- the model


def test_fetch_more_exposes_batch_size_rows_at_a_time(qtbot):
    model = ResultsModel(batch_size=100)
    inserted: list[tuple[int, int]] = []
    model.rowsAboutToBeInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.set_columns([Column("n", "int4")])
    model.append_rows([(i,) for i in range(60)])
    assert model.rowCount() == 60 and not model.canFetchMore(QModelIndex())
    model.append_rows([(i,) for i in range(60, 250)])
    assert model.rowCount() == 100  # the first page fills at once, the rest waits
    assert model.received_count == 250
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 200
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 250
    assert not model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())  # nothing left: no empty insert
    assert inserted == [(0, 59), (60, 99), (100, 199), (200, 249)]
    assert model.index(249, 0).data() == "249"
    assert not model.canFetchMore(model.index(0, 0))


def test_stale_generations_are_dropped(qtbot):
    model = ResultsModel()
    first = model.reset()
    model.set_columns([Column("a", "text")], generation=first)
    assert model.append_rows([("old",)], generation=first)
    second = model.reset()
    assert second == first + 1
    assert not model.set_columns([Column("a", "text")], generation=first)
    assert model.set_columns([Column("b", "text")], generation=second)
    assert not model.append_rows([("late",)], generation=first)
    assert not model.finish(generation=first)
    assert model.is_streaming and model.received_count == 0
    assert model.append_rows([("new",)], generation=second)
    assert model.column_names() == ["b"] and model.value(0, 0) == "new"


def test_summary_texts(qtbot):
    model = ResultsModel()
    assert model.summary() == ""
    model.set_columns([Column("n", "int4")])
    assert model.summary() == "waiting for the first rows…"
    model.append_rows([(i,) for i in range(5000)])
    assert model.summary() == "streaming… 5,000 rows"
    model.finish(True, False)
    assert model.summary() == "5,000 rows"
    model.finish(True, True)
    assert model.summary() == "5,000 of >5,000 rows"
    model.finish(False, False)
    assert model.summary() == "5,000 rows (stopped)"
    model.reset()
    model.set_columns([Column("n", "int4")])
    model.finish()
    assert model.summary() == "0 rows"
    model.append_rows([(1,)])
    assert model.summary() == "1 row"


def test_display_roles(qtbot):
    model = ResultsModel()
    columns = ["null_text", "empty", "int", "dec", "flag", "blob", "long_blob", "doc", "long",
               "when", "uid", "null_num"]  # fmt: skip
    model.set_columns([Column(c, "numeric" if c == "null_num" else "text") for c in columns])
    when = dt.datetime(2024, 1, 2, 3, 4, 5)
    uid = uuid.UUID(int=1)
    row = (None, "", 42, Decimal("3.14"), True, b"\x00\x01\xff", bytes(100),
           {"a": [1, None]}, "word " * 500, when, uid, None)  # fmt: skip
    model.append_rows([row])
    model.finish()

    def data(column: int, role=Qt.ItemDataRole.DisplayRole):
        return model.index(0, column).data(role)

    assert data(0) == "NULL" and data(1) == ""
    assert data(0, Qt.ItemDataRole.FontRole).italic()
    assert data(1, Qt.ItemDataRole.FontRole) is None
    placeholder = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
    assert data(0, Qt.ItemDataRole.ForegroundRole).color() == placeholder
    assert data(1, Qt.ItemDataRole.ForegroundRole) is None
    assert data(0, IsNullRole) is True and data(1, IsNullRole) is False
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    align = Qt.ItemDataRole.TextAlignmentRole
    assert data(2, align) == right and data(3, align) == right and data(11, align) == right
    assert data(1, align) == left and data(4, align) == left and data(0, align) == left
    assert data(2) == "42" and data(3) == "3.14" and data(4) == "true"
    assert data(5) == "\\x0001ff" and data(6) == "<100 bytes>"
    assert data(7) == '{"a":[1,null]}'
    assert len(data(8)) == 200 and data(8).endswith("…")
    assert data(8, Qt.ItemDataRole.ToolTipRole) == ("word " * 500)[:1999] + "…"
    assert data(9) == "2024-01-02 03:04:05" and data(10) == str(uid)
    assert model.value(0, 7) == {"a": [1, None]}
    assert data(3, RawValueRole) == Decimal("3.14")
    header = model.headerData(11, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "null_text"
    assert header == "null_num: numeric"
    assert model.headerData(0, Qt.Orientation.Vertical) == "1"


def test_display_of_missing_vectors_and_non_finite_numbers(qtbot):
    """The grid uses dbplay_desktop.values: MISSING is empty and not NULL, a vector is a
    preview with its size, NaN and Decimals read as in copies and the CLI."""
    model = ResultsModel()
    model.set_columns([Column(c, "text") for c in ("gone", "vec", "nan", "dec", "sdec")])
    vector = Vector([0.5] * 1536)
    model.append_rows([(MISSING, vector, float("nan"), Decimal("-Infinity"), Decimal("sNaN"))])
    model.finish()

    def data(column: int, role=Qt.ItemDataRole.DisplayRole):
        return model.index(0, column).data(role)

    assert data(0) == "" and data(0, IsNullRole) is False
    assert data(0, Qt.ItemDataRole.FontRole) is None
    assert data(0, Qt.ItemDataRole.ToolTipRole) == MISSING_TOOLTIP
    assert data(1) == "[0.5, 0.5, 0.5, … 1,536 floats]"
    assert data(1, Qt.ItemDataRole.ToolTipRole).startswith("[0.5,0.5,")
    assert data(1, RawValueRole) is vector
    assert (data(2), data(3), data(4)) == ("NaN", "-Infinity", "NaN")


def test_cell_viewer_shows_every_float_of_a_vector_and_explains_missing(qtbot):
    vector = Vector([0.1, 0.2] * 768)
    viewer = CellViewer(vector, "embedding: vector")
    qtbot.addWidget(viewer)
    assert viewer.copy_text == plain_text(vector) and viewer.copy_text.count(",") == 1535
    assert viewer.summary_label.text() == "embedding: vector — vector (1,536 float32)"
    absent = CellViewer(MISSING, "email")
    qtbot.addWidget(absent)
    assert absent.copy_text == "" and absent.text_view.toPlainText() == MISSING_TOOLTIP


# --------------------------------------------------------------------------- stream_result


def test_capped_batches_probe():
    def run(total, cap):
        gen = capped_batches(batches_of(total, 100), cap)
        rows = []
        while True:
            try:
                rows.extend(next(gen))
            except StopIteration as stop:
                return len(rows), stop.value

    assert run(1500, 1000) == (1000, True)
    assert run(1000, 1000) == (1000, False)
    assert run(1001, 1000) == (1000, True)
    assert run(950, 1000) == (950, False)
    assert run(0, 1000) == (0, False)
    assert run(10, None) == (10, False)


@pytest.mark.parametrize(
    ("total", "cap", "summary"),
    [
        (1500, 1000, "1,000 of >1,000 rows"),
        (1000, 1000, "1,000 rows"),
        (1234, 10_000, "1,234 rows"),
        (0, 1000, "0 rows"),
    ],
)
def test_stream_result_cap_and_probe(qtbot, total, cap, summary):
    closed = threading.Event()
    model = ResultsModel(batch_size=300)
    result = make_result(batches_of(total), closed=closed)
    with qtbot.waitSignal(model.finished, timeout=10_000):
        stream_result(result, model, cap=cap)
    assert model.summary() == summary
    assert model.rowCount() == min(300, model.received_count)
    assert closed.is_set()  # the cursor was released


def test_stream_result_stopped_midway(qtbot):
    closed = threading.Event()
    release = threading.Event()

    def slow():
        yield [(1,), (2,)]
        release.wait(5)
        while True:
            yield [(3,)]
            time.sleep(0.001)

    model = ResultsModel()
    worker = stream_result(make_result(slow(), closed=closed), model, cap=None)
    qtbot.waitUntil(lambda: model.received_count >= 2)
    assert model.summary().startswith("streaming…")
    worker.quit()
    release.set()
    qtbot.waitUntil(lambda: model.is_finished, timeout=5000)
    assert model.summary().endswith("rows (stopped)")
    assert closed.is_set()


def test_restarting_drops_batches_of_the_old_stream(qtbot):
    def endless():
        while True:
            yield [("old",)] * 50
            time.sleep(0.001)

    model = ResultsModel(cap=None)
    old = stream_result(make_result(endless()), model)
    qtbot.waitUntil(lambda: model.received_count > 0)
    old_generation = model.generation
    ended: list[bool] = []
    old.signals.finished.connect(lambda: ended.append(True))
    old.quit()  # the owner stops it, but batches already queued still arrive late
    with qtbot.waitSignal(model.finished, timeout=5000):
        stream_result(make_result(iter([[("new",)]]), [Column("s", "text")]), model)
    qtbot.waitUntil(lambda: bool(ended), timeout=10_000)  # everything it sent has arrived
    model.append_rows([("late",)], generation=old_generation)  # and one more, by hand
    assert model.column_names() == ["s"]
    assert model.rows() == [("new",)]
    assert model.summary() == "1 row"


# --------------------------------------------------------------------------- closing a tab


def endless_batches() -> Iterator[list[tuple[int]]]:
    while True:
        yield [(1,)] * 100


def test_destroying_the_model_stops_its_stream(qtbot):
    """Closing a result tab destroys its model: the worker stops and frees the cursor."""
    import shiboken6

    closed = threading.Event()
    model = ResultsModel(cap=None)
    worker = stream_result(make_result(endless_batches(), closed=closed), model)
    qtbot.waitUntil(lambda: model.received_count > 0)
    shiboken6.delete(model)
    qtbot.waitUntil(lambda: worker.is_done, timeout=5000)
    assert closed.is_set()


# --------------------------------------------------------------------------- columns added


def _streaming(batches, columns):
    from dbplay_desktop.engines.base import Statement, StatementResult

    return StatementResult.streaming(0, Statement.at("find", 0, 4), columns, batches)


def test_added_columns_are_inserted_without_a_reset_and_old_rows_read_missing(qtbot):
    model = ResultsModel(batch_size=10)
    model.set_columns([Column("_id", "objectid")])
    model.append_rows([(1,), (2,)])
    resets: list[bool] = []
    inserted: list[tuple[int, int]] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(True))
    model.columnsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    assert model.add_columns([Column("name"), Column("age", "int")])
    model.append_rows([(3, "Rex", 4)])
    assert resets == [] and inserted == [(1, 2)]
    assert model.columnCount() == 3 and model.column_names() == ["_id", "name", "age"]
    assert model.value(0, 1) is MISSING and model.value(2, 1) == "Rex"
    assert model.index(0, 2).data(RawValueRole) is MISSING
    assert model.index(0, 2).data() == "" and model.index(0, 2).data(IsNullRole) is False
    assert model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole) == MISSING_TOOLTIP
    assert model.row(0) == (1, MISSING, MISSING)
    assert model.rows() == [(1, MISSING, MISSING), (2, MISSING, MISSING), (3, "Rex", 4)]
    assert model.is_numeric_column(2) and not model.is_numeric_column(1)
    assert model.add_columns([Column("x")], generation=model.generation + 1) is False


def test_columns_a_result_adds_while_streaming_reach_the_model(qtbot):
    from dbplay_desktop.engines.base import Column as C

    def documents():
        yield [(1,), (2,)]
        result.add_columns([C("email")])
        yield [(3, "a@b.c")]
        result.add_columns([C("tags")])
        yield [(4, MISSING, ["x"])]

    result = _streaming(documents(), [C("_id")])
    model = ResultsModel(batch_size=10)
    resets: list[bool] = []
    with qtbot.waitSignal(model.finished, timeout=10_000):
        stream_result(result, model)
        model.modelAboutToBeReset.connect(lambda: resets.append(True))
    assert resets == []
    assert model.column_names() == ["_id", "email", "tags"]
    assert model.rows() == [(1, MISSING, MISSING), (2, MISSING, MISSING),
                            (3, "a@b.c", MISSING), (4, MISSING, ["x"])]
    assert model.summary() == "4 rows"


# --------------------------------------------------------------------------- memory budget


def test_the_model_stops_keeping_rows_at_its_memory_budget(qtbot):
    from dbplay_desktop.values import row_size

    rows = [(i, "x" * 1000) for i in range(100)]
    size = row_size(rows[0])
    model = ResultsModel(batch_size=500, memory_limit=10 * size)
    model.set_columns([Column("n", "int4"), Column("s", "text")])
    model.append_rows(rows[:4])
    assert not model.memory_full and model.memory_used == 4 * size
    model.append_rows(rows[4:50])
    assert model.memory_full and model.received_count == 10  # the row reaching it is kept
    model.append_rows(rows[50:])
    assert model.received_count == 10
    model.finish(True, False)
    assert model.more_available and model.summary() == "10 of >10 rows"
    assert not model.can_fetch_beyond
    model.reset()
    assert model.memory_used == 0 and not model.memory_full


def test_stream_result_stops_at_the_memory_budget_and_the_footer_says_why(qtbot):
    from dbplay_desktop.ui.results.footer import ResultFooter
    from dbplay_desktop.values import row_size

    closed = threading.Event()
    rows = [(i, "y" * 2000) for i in range(1000)]
    size = row_size(rows[0])

    def batches():
        for start in range(0, len(rows), 100):
            yield rows[start : start + 100]

    model = ResultsModel(batch_size=300, cap=100_000, memory_limit=250 * size)
    with qtbot.waitSignal(model.finished, timeout=10_000):
        stream_result(make_result(batches(), closed=closed), model, resumable=True)
    assert model.received_count == 250 and model.memory_full
    assert model.summary() == "250 of >250 rows"
    assert not model.can_fetch_beyond  # the budget is spent: Fetch more cannot add rows
    footer = ResultFooter()
    qtbot.addWidget(footer)
    footer.refresh(model, None)
    assert footer.summary_label.text() == "250 of >250 rows"
    assert "memory budget" in footer.summary_label.toolTip()
    assert "DBPLAY_RESULT_MEMORY_LIMIT" in footer.summary_label.toolTip()
    assert not footer.fetch_more_button.isEnabled()
    assert "memory budget" in footer.fetch_more_button.toolTip()


def test_the_row_cap_still_reads_as_the_row_cap(qtbot):
    from dbplay_desktop.ui.results.footer import ResultFooter

    model = ResultsModel(batch_size=300, cap=1000, memory_limit=None)
    with qtbot.waitSignal(model.finished, timeout=10_000):
        stream_result(make_result(batches_of(1500)), model, resumable=True)
    assert model.summary() == "1,000 of >1,000 rows" and not model.memory_full
    assert model.can_fetch_beyond
    footer = ResultFooter()
    qtbot.addWidget(footer)
    footer.refresh(model, None)
    assert "row cap" in footer.summary_label.toolTip()


def test_memory_limit_comes_from_the_environment(monkeypatch):
    from dbplay_desktop.ui.results.stream import (
        DEFAULT_MEMORY_LIMIT,
        format_bytes,
        result_memory_limit,
    )

    assert DEFAULT_MEMORY_LIMIT == 256 * 1024 * 1024
    assert result_memory_limit({}) == DEFAULT_MEMORY_LIMIT
    assert result_memory_limit({"DBPLAY_RESULT_MEMORY_LIMIT": "1000"}) == 1000
    assert result_memory_limit({"DBPLAY_RESULT_MEMORY_LIMIT": "64M"}) == 64 * 1024**2
    assert result_memory_limit({"DBPLAY_RESULT_MEMORY_LIMIT": "1.5g"}) == int(1.5 * 1024**3)
    assert result_memory_limit({"DBPLAY_RESULT_MEMORY_LIMIT": "0"}) is None
    assert result_memory_limit({"DBPLAY_RESULT_MEMORY_LIMIT": "lots"}) == DEFAULT_MEMORY_LIMIT
    monkeypatch.setenv("DBPLAY_RESULT_MEMORY_LIMIT", "2K")
    assert ResultsModel().memory_limit == 2048
    assert format_bytes(DEFAULT_MEMORY_LIMIT) == "256 MB"
    assert format_bytes(1536) == "1.5 KB" and format_bytes(12) == "12 bytes"
