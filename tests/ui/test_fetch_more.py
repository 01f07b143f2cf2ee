"""The end of a result: Ctrl+End and a dragged scrollbar reach the last row received and
follow the stream; Fetch more, Fetch all (asked first) and Stop continue a capped result."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt, QThreadPool
from PySide6.QtWidgets import QMessageBox

from dbplay_desktop.engines.base import Column
from dbplay_desktop.ui.results.model import ResultsModel
from dbplay_desktop.ui.results.stream import stream_result
from dbplay_desktop.ui.results.view import ResultsView
from tests.ui.conftest import run_and_wait, wait_ready
from tests.ui.helpers_results import shown_view


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


def shown(qtbot, model: ResultsModel) -> ResultsView:
    return shown_view(qtbot, model, (700, 400))


def ints(start: int, stop: int) -> list[tuple[int]]:
    return [(i,) for i in range(start, stop)]


def test_ctrl_end_goes_to_the_last_row_received_and_follows_new_ones(qtbot):
    model = ResultsModel(batch_size=100)
    model.set_columns([Column("n", "int4")])
    view = shown(qtbot, model)
    model.append_rows(ints(0, 1000))
    assert model.rowCount() == 100
    view.table.setCurrentIndex(model.index(0, 0))
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert model.rowCount() == 1000
    assert view.table.currentIndex().row() == 999
    model.append_rows(ints(1000, 1500))  # still streaming: the view stays at the end
    assert model.rowCount() == 1500
    assert view.table.currentIndex().row() == 1499
    assert view.table.rowAt(view.table.viewport().height() - 1) in (-1, 1499)
    qtbot.waitUntil(lambda: view.summary_label.text() == "streaming… 1,500 rows")
    view.table.setCurrentIndex(model.index(3, 0))  # the user went back up
    view.table.scrollToTop()
    model.append_rows(ints(1500, 2000))
    assert model.rowCount() == 1500 and view.table.currentIndex().row() == 3
    model.finish()


def test_dragging_the_scrollbar_to_the_bottom_reaches_the_last_row(qtbot):
    model = ResultsModel(batch_size=100)
    model.set_columns([Column("n", "int4")])
    model.append_rows(ints(0, 5000))
    model.finish()
    view = shown(qtbot, model)
    scrollbar = view.table.verticalScrollBar()
    scrollbar.setSliderDown(True)
    scrollbar.setValue(scrollbar.maximum())
    scrollbar.setSliderDown(False)
    assert model.rowCount() == 5000
    qtbot.waitUntil(lambda: view.table.rowAt(view.table.viewport().height() - 1) >= 4990)
    view.table.scrollToTop()
    view.table.verticalScrollBar().setValue(5)  # the wheel or the arrows: no jump
    assert model.rowCount() == 5000


def test_buttons_are_disabled_when_nothing_more_can_be_fetched(qtbot):
    model = ResultsModel(cap=3)
    model.set_columns([Column("n", "int4")])
    model.append_rows(ints(0, 3))
    model.finish(True, True)  # capped, but nobody can continue this stream
    view = shown(qtbot, model)
    footer = view.footer
    assert footer.fetch_more_button.text() == "Fetch more"
    assert footer.fetch_all_button.text() == "Fetch all"
    assert not footer.fetch_more_button.isEnabled() and not footer.fetch_all_button.isEnabled()
    assert "row limit" in footer.fetch_more_button.toolTip()
    assert footer.fetch_more_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert not view.fetch_more() and view.confirm_fetch_all() is None


def _answer(box: QMessageBox, label: str) -> None:
    (button,) = [b for b in box.buttons() if b.text() == label]
    button.click()


def test_fetch_more_and_fetch_all_continue_a_postgres_cursor(qtbot, pg_session):
    model = ResultsModel(batch_size=300, cap=1000)
    view = shown(qtbot, model)
    footer = view.footer
    result = next(pg_session.execute("select g from generate_series(1, 2500) g"))
    try:
        with qtbot.waitSignal(model.finished, timeout=30_000):
            stream_result(result, model, resumable=True)
        qtbot.waitUntil(lambda: view.summary_label.text() == "1,000 of >1,000 rows")
        assert footer.fetch_more_button.isEnabled() and footer.fetch_all_button.isEnabled()
        labels = [a.text() for a in view.build_menu().actions() if a.text().startswith("Fetch")]
        assert labels == ["Fetch 1,000 more rows", "Fetch all rows…"]

        with qtbot.waitSignal(model.finished, timeout=30_000):
            footer.fetch_more_button.click()
            assert not footer.fetch_more_button.isVisible() and footer.stop_button.isVisible()
        qtbot.waitUntil(lambda: view.summary_label.text() == "2,000 of >2,000 rows")

        footer.fetch_all_button.click()
        box = view.fetch_all_box
        assert box is not None and "Fetch all rows?" in box.text()
        _answer(box, "Cancel")
        qtbot.waitUntil(lambda: view.fetch_all_box is None)
        assert model.summary() == "2,000 of >2,000 rows"

        with qtbot.waitSignal(model.finished, timeout=30_000):
            footer.fetch_all_button.click()
            _answer(view.fetch_all_box, "Fetch all")
        qtbot.waitUntil(lambda: view.summary_label.text() == "2,500 rows")
        # Nothing lost or doubled where one fetch ended and the next began.
        assert [model.value(i, 0) for i in range(model.received_count)] == list(range(1, 2501))
        assert not footer.fetch_more_button.isEnabled()
        assert not footer.fetch_all_button.isEnabled()
        assert not model.fetch_next()
    finally:
        QThreadPool.globalInstance().waitForDone(30_000)


def test_stop_ends_fetch_all_and_the_rest_can_still_be_fetched(qtbot, pg_session):
    model = ResultsModel(batch_size=500, cap=1000)
    view = shown(qtbot, model)
    footer = view.footer
    result = next(pg_session.execute("select g from generate_series(1, 5000000) g"))
    try:
        with qtbot.waitSignal(model.finished, timeout=30_000):
            stream_result(result, model, resumable=True)
        assert view.fetch_all()
        qtbot.waitUntil(lambda: model.received_count > 5000, timeout=30_000)
        qtbot.waitUntil(lambda: view.summary_label.text().startswith("fetching… "))
        with qtbot.waitSignal(model.finished, timeout=30_000):
            footer.stop_button.click()
        count = model.received_count
        assert count < 5_000_000
        assert model.summary() == f"{count:,} of >{count:,} rows"
        qtbot.waitUntil(lambda: footer.fetch_more_button.isEnabled())
        with qtbot.waitSignal(model.finished, timeout=30_000):
            footer.fetch_more_button.click()
        assert model.received_count == count + 1000
        assert model.value(model.received_count - 1, 0) == count + 1000
    finally:
        QThreadPool.globalInstance().waitForDone(30_000)


def test_a_fetch_asked_for_the_moment_the_last_one_parks_is_not_cut_short(qtbot, pg_session):
    """*Fetch more* clicked as soon as the footer offers it -- before the worker that just
    parked has delivered its ``finished`` -- continues to the new cap: the old worker's
    late ``finished`` must not end the new fetch (it read "1,000 of >1,000 rows")."""
    model = ResultsModel(batch_size=500, cap=1000)
    result = next(pg_session.execute("select g from generate_series(1, 100000) g"))
    finished_at: list[int] = []
    asked: list[bool] = []

    def on_finished() -> None:
        finished_at.append(model.received_count)
        if not asked:  # still inside the parked worker's delivery of its return value
            asked.append(model.fetch_next())

    model.finished.connect(on_finished)
    try:
        stream_result(result, model, resumable=True)
        qtbot.waitUntil(lambda: len(finished_at) >= 2, timeout=30_000)
        assert asked == [True]
        assert finished_at[:2] == [1000, 2000]
        assert model.summary() == "2,000 of >2,000 rows"
    finally:
        model.stop_fetching()
        QThreadPool.globalInstance().waitForDone(30_000)


def test_ctrl_end_in_the_window_reaches_the_capped_last_row(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("select g, md5(g::text) from generate_series(1,200000) g")
    run_and_wait(qtbot, playground, timeout=60_000)
    (model,) = playground.result_models()
    view = playground.results_tabs.currentWidget()
    assert isinstance(view, ResultsView) and view.model() is model
    cap = model.cap_step
    qtbot.waitUntil(lambda: view.summary_label.text() == f"{cap:,} of >{cap:,} rows")
    view.table.setCurrentIndex(model.index(0, 0))
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert view.table.currentIndex().row() == cap - 1
    assert not model.canFetchMore(QModelIndex())
    assert view.table.widths.content_width(cap) <= view.table.horizontalHeader().sectionSize(0)


def test_fetch_more_and_all_in_the_window_then_run_again(qtbot, main_window):
    """A playground's last statement stopped at the cap stays open: Fetch more and Fetch
    all continue it in its tab, and the next run closes it before running."""
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("select 1;\nselect g from generate_series(1, 25000) g")
    run_and_wait(qtbot, playground, timeout=60_000)
    model = playground.result_models()[-1]
    view = playground.results_tabs.currentWidget()
    if view.model() is not model:
        view = playground.results_tabs.widget(playground.results_tabs.count() - 1)
    footer = view.footer
    cap = model.cap_step
    qtbot.waitUntil(lambda: model.summary() == f"{cap:,} of >{cap:,} rows", timeout=30_000)
    qtbot.waitUntil(footer.fetch_more_button.isEnabled, timeout=10_000)

    with qtbot.waitSignal(model.finished, timeout=30_000):
        footer.fetch_more_button.click()
    assert model.received_count == min(2 * cap, 25_000)
    with qtbot.waitSignal(model.finished, timeout=60_000):
        footer.fetch_all_button.click()
        qtbot.waitUntil(lambda: view.fetch_all_box is not None, timeout=10_000)
        _answer(view.fetch_all_box, "Fetch all")
    assert model.received_count == 25_000
    assert [model.value(i, 0) for i in (0, cap - 1, cap, 24_999)] == [1, cap, cap + 1, 25_000]

    # Stopped at the cap again, then another run: the open result is closed first.
    playground.editor.setPlainText("select g from generate_series(1, 25000) g")
    run_and_wait(qtbot, playground, timeout=60_000)
    qtbot.waitUntil(lambda: playground.result_models()[-1].summary().endswith("rows"),
                    timeout=30_000)
    playground.editor.setPlainText(
        "select count(*) from pg_cursors where statement not like '%pg_cursors%'"
    )
    run_and_wait(qtbot, playground, timeout=60_000)
    (counted,) = playground.result_models()
    qtbot.waitUntil(lambda: counted.received_count == 1, timeout=30_000)
    assert counted.value(0, 0) == 0  # no cursor of the earlier run is left open
