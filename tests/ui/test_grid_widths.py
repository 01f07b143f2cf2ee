"""Grid column widths follow the rows as they stream in: sampled, only widening, numbers
never cut, the header fitting, a user's width kept, and a fast fit on double-click."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt, QThreadPool

from dbplay_desktop.engines.base import Column
from dbplay_desktop.ui.results.column_widths import MAX_TEXT_WIDTH, sample_rows
from dbplay_desktop.ui.results.model import ResultsModel
from dbplay_desktop.ui.results.stream import stream_result
from dbplay_desktop.ui.results.view import ResultsView
from tests.ui.helpers_results import shown_view

QUERY = "select g, md5(g::text) from generate_series(1,200000) g"


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


def shown(qtbot, model: ResultsModel) -> ResultsView:
    return shown_view(qtbot, model, (800, 400))


def width(view: ResultsView, column: int) -> int:
    return view.table.horizontalHeader().sectionSize(column)


def fits(view: ResultsView, column: int, value: Any) -> bool:
    return width(view, column) >= view.table.widths.content_width(value)


def test_sample_rows_spreads_over_the_batch_with_both_ends():
    assert sample_rows(0, 5, 10) == [0, 1, 2, 3, 4]
    rows = sample_rows(1000, 2000, 8)
    assert rows[0] == 1000 and rows[-1] == 1999 and len(rows) == 8
    assert sample_rows(3, 3, 8) == []


def test_widths_follow_a_postgres_stream_without_jumping_on_every_batch(qtbot, pg_session):
    model = ResultsModel(cap=None)
    view = shown(qtbot, model)
    resizes: list[int] = []
    view.table.horizontalHeader().sectionResized.connect(
        lambda column, _old, new: resizes.append(new) if column == 0 else None
    )
    batches: list[int] = []
    model.rows_buffered.connect(batches.append)
    result = next(pg_session.execute(QUERY))
    try:
        with qtbot.waitSignal(model.finished, timeout=120_000):
            stream_result(result, model)
    finally:
        QThreadPool.globalInstance().waitForDone(30_000)
    assert model.summary() == "200,000 rows"
    # The first batch held four digits at most; the last row has six, and it fits.
    assert fits(view, 0, 200000) and fits(view, 0, 99999)
    assert fits(view, 1, model.value(199_999, 1))
    assert len(batches) > 50
    assert 1 <= len(resizes) <= 6, resizes  # a handful of steps, never one per batch
    assert resizes == sorted(resizes)  # only ever wider


def test_header_text_fits_and_long_text_stops_at_the_maximum(qtbot):
    model = ResultsModel()
    model.set_columns([Column("a_rather_long_column_name", "int4"), Column("t", "text")])
    model.append_rows([(1, "x" * 150), (2, "short")])
    model.finish()
    view = shown(qtbot, model)
    header = view.table.horizontalHeader()
    assert width(view, 0) >= header.sectionSizeHint(0)
    assert width(view, 1) == MAX_TEXT_WIDTH


def test_numbers_are_never_cut_even_in_rows_the_sample_missed(qtbot):
    model = ResultsModel(batch_size=2000)
    model.set_columns([Column("n", "int8"), Column("label", "text")])
    view = shown(qtbot, model)
    rows: list[tuple[int, str]] = [(1, "a")] * 1000
    rows[5] = (123_456_789_012_345, "wide")  # row 5 is not among the sampled rows
    assert 5 not in sample_rows(0, 1000, 32)
    model.append_rows(rows)
    model.finish()
    assert not fits(view, 0, 123_456_789_012_345)  # the sample could not know
    view.table.viewport().update()  # painting row 5 shows it
    qtbot.waitUntil(lambda: fits(view, 0, 123_456_789_012_345), timeout=10_000)


def test_a_user_resized_column_is_not_widened_again(qtbot):
    model = ResultsModel()
    model.set_columns([Column("n", "int4"), Column("t", "text")])
    view = shown(qtbot, model)
    model.append_rows([(1, "ab")])
    header = view.table.horizontalHeader()
    header.resizeSection(1, 40)  # as a drag on the header edge does
    model.append_rows([(1000000, "a much longer text than before")])
    assert width(view, 1) == 40
    assert fits(view, 0, 1000000)  # the column the user left alone still follows


def test_double_click_on_the_header_edge_fits_from_a_sample(qtbot):
    class CountingModel(ResultsModel):
        reads = 0

        def data(self, index: QModelIndex, role: int = 0) -> Any:  # type: ignore[override]
            CountingModel.reads += 1
            return super().data(index, role)

        def value(self, row: int, column: int) -> Any:
            CountingModel.reads += 1
            return super().value(row, column)

    model = CountingModel(batch_size=100_000, cap=None)
    model.set_columns([Column("t", "text")])
    view = shown(qtbot, model)
    model.append_rows([(f"v{i}",) for i in range(100_000)])
    header = view.table.horizontalHeader()
    header.resizeSection(0, 40)  # the user narrowed it
    model.append_rows([("a" * 60,)])  # not widened: the user's width stays
    model.finish()
    assert width(view, 0) == 40
    CountingModel.reads = 0
    edge = QPoint(header.sectionViewportPosition(0) + header.sectionSize(0) - 1, 5)
    qtbot.mouseDClick(header.viewport(), Qt.MouseButton.LeftButton, pos=edge)
    qtbot.waitUntil(lambda: fits(view, 0, "a" * 60), timeout=10_000)
    assert CountingModel.reads < 5_000  # a sample and the rows on screen, not 100,001 rows
    assert view.table.widths.follows(0)  # fitted: it follows the data again
