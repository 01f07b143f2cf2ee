"""Big results and the collector: old rows freed off the UI thread, full passes held off
while rows stream in, and the hold always ending by itself."""

from __future__ import annotations

import gc
import threading

import pytest

from dbplay_desktop.ui.results import heap
from dbplay_desktop.ui.results.model import ResultsModel
from dbplay_desktop.ui.results.run_results import RunResults


class FreedOn:
    """A cell that records the thread it was freed on."""

    def __init__(self, threads: list[str]) -> None:
        self._threads = threads

    def __del__(self) -> None:
        self._threads.append(threading.current_thread().name)


@pytest.fixture(autouse=True)
def _collector_as_python_sets_it():
    heap.release_full_collections()
    heap._hold._no_hold_until = 0.0  # no test starts inside another's make-way time
    before = gc.get_threshold()
    yield
    heap.release_full_collections()
    assert gc.get_threshold() == before


def test_a_big_list_is_freed_on_a_worker_thread_and_emptied(qtbot):
    threads: list[str] = []
    rows = [(n, "x") for n in range(heap.FREE_AT_ONCE * 2)] + [(FreedOn(threads),)]
    heap.free_in_background(rows)
    qtbot.waitUntil(lambda: bool(threads), timeout=30_000)
    assert threads != [threading.current_thread().name]
    qtbot.waitUntil(lambda: not rows, timeout=30_000)


def test_a_small_list_is_freed_at_once():
    threads: list[str] = []
    rows = [(FreedOn(threads),)]
    heap.free_in_background(rows)
    assert rows == [] and threads == [threading.current_thread().name]


def test_resetting_a_model_frees_its_rows_off_the_ui_thread(qtbot):
    threads: list[str] = []
    model = ResultsModel(cap=None, memory_limit=None)
    model.append_rows([(n,) for n in range(heap.FREE_AT_ONCE)] + [(FreedOn(threads),)])
    model.reset()
    assert model.received_count == 0 and model.rowCount() == 0
    qtbot.waitUntil(lambda: bool(threads), timeout=30_000)
    assert threads != [threading.current_thread().name]


def test_rows_arriving_in_a_big_result_hold_full_collections_off_and_young_ones_run(qtbot):
    young, middle, _oldest = gc.get_threshold()
    model = ResultsModel(cap=None, memory_limit=None)
    model.append_rows([(1,)] * (heap.HOLD_FROM_ROWS - 1))
    assert not heap.holding_full_collections()  # a pass over a small result is cheap
    model.append_rows([(1,)])
    assert heap.holding_full_collections()
    assert gc.get_threshold()[:2] == (young, middle)  # young collections as before
    assert gc.get_threshold()[2] > 1_000_000


def test_the_hold_ends_by_itself_once_batches_stop(qtbot, monkeypatch):
    monkeypatch.setattr(heap, "QUIET_MS", 50)
    before = gc.get_threshold()
    heap.rows_arrived(heap.HOLD_FROM_ROWS)
    assert heap.holding_full_collections()
    qtbot.waitUntil(lambda: not heap.holding_full_collections(), timeout=10_000)
    assert gc.get_threshold() == before


def test_thresholds_someone_else_set_during_the_hold_are_left_alone(qtbot):
    before = gc.get_threshold()
    heap.rows_arrived(heap.HOLD_FROM_ROWS)
    try:
        gc.set_threshold(1000, 20, 20)
        heap.release_full_collections()
        assert gc.get_threshold() == (1000, 20, 20)
    finally:
        gc.set_threshold(*before)


def test_a_new_run_lets_the_last_runs_rows_go_before_their_tabs_are_deleted(qtbot, tmp_path):
    """A new run clears the last one's result tabs: each model is reset there (its rows
    freed off the UI thread), not left to free them all at once when the deleted views
    take the models with them."""
    from PySide6.QtWidgets import QTabWidget

    from dbplay_desktop.ui.editor.editor import CodeEditor
    from dbplay_desktop.ui.playground.query_runner import QueryRunner
    from dbplay_desktop.ui.results.messages_pane import MessagesPane
    from tests.ui.helpers_results import SqliteSession

    session = SqliteSession(str(tmp_path / "play.db"))
    editor, tabs, messages = CodeEditor(), QTabWidget(), MessagesPane()
    qtbot.addWidget(tabs)
    qtbot.addWidget(editor)
    tabs.addTab(messages, "Messages")
    results = RunResults(editor, tabs, messages, batch_size=100, row_cap=None)
    runner = QueryRunner(session, cap=None)
    results.attach(runner)
    sql = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
           f"WHERE i < {heap.FREE_AT_ONCE * 2}) SELECT i FROM n")
    try:
        results.begin(sql, 0)
        with qtbot.waitSignal(runner.all_done, timeout=30_000):
            runner.run(sql)
        results.end()
        (model,) = results.models()
        assert model.received_count == heap.FREE_AT_ONCE * 2
        results.begin("SELECT 1", 0)
        assert model.received_count == 0 and tabs.count() == 1
    finally:
        runner.discard(close_session=False)
        session.close()


def test_a_hold_of_minutes_makes_way_for_full_collections(qtbot, monkeypatch):
    """Big results streaming back to back would hold the collector off for good: after
    MAX_HOLD_S the hold ends, and no batch holds it again for MAKE_WAY_S."""
    monkeypatch.setattr(heap, "MAX_HOLD_S", 0.0)
    before = gc.get_threshold()
    heap.rows_arrived(heap.HOLD_FROM_ROWS)
    assert heap.holding_full_collections()
    qtbot.waitUntil(lambda: (heap.rows_arrived(heap.HOLD_FROM_ROWS)
                             or not heap.holding_full_collections()), timeout=10_000)
    assert gc.get_threshold() == before
    heap.rows_arrived(heap.HOLD_FROM_ROWS)  # within MAKE_WAY_S
    assert not heap.holding_full_collections()
