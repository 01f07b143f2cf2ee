"""The results model and its feeders: fetch-more paging, generations, caps, display roles,
and whole runs over real databases (SQLite through a tiny adapter below; PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt, QThreadPool
from PySide6.QtGui import QGuiApplication, QPalette

from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    ConnectionFailed,
    QueryCancelled,
    QueryError,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.ui.results_model import (
    IsNullRole,
    QueryRunner,
    RawValueRole,
    ResultsModel,
    capped_batches,
    stream_result,
)

# --------------------------------------------------------------------------- a tiny SQLite adapter
# Not the product's SQLite engine (that comes later): just enough of ``Session`` to stream
# real query results through the grid's worker code. Statements are cut where
# ``sqlite3.complete_statement`` says they end; ``cancel`` interrupts the connection.


def split_statements(text: str) -> list[Statement]:
    """Statements as SQLite itself sees their ends (``;`` outside strings and comments)."""
    statements = []
    start = 0
    for end, char in enumerate(text):
        if char == ";" and sqlite3.complete_statement(text[start : end + 1]):
            statements.append((start, end + 1))
            start = end + 1
    if text[start:].strip():
        statements.append((start, len(text)))
    result = []
    for begin, finish in statements:
        chunk = text[begin:finish]
        if not chunk.strip().strip(";").strip():
            continue
        begin += len(chunk) - len(chunk.lstrip())
        result.append(Statement.at(text, begin, finish))
    return result


class SqliteSession(Session):
    batch_size = 100

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.cancelled = False
        self.closed_cursors = 0

    def _error(self, exc: sqlite3.Error, statement: Statement) -> QueryError:
        if self.cancelled or "interrupted" in str(exc):
            return QueryCancelled("Query cancelled", position=statement.start)
        return QueryError(str(exc), position=statement.start, line=statement.line)

    def execute(self, text: str) -> Iterator[StatementResult]:
        self.cancelled = False
        for index, statement in enumerate(split_statements(text)):
            if self.cancelled:
                return
            started = time.perf_counter()
            result = StatementResult(index=index, statement=statement)
            try:
                cursor = self.conn.execute(statement.text)
                first = cursor.fetchmany(self.batch_size) if cursor.description else []
            except sqlite3.Error as exc:
                result.error = self._error(exc, statement)
                result.elapsed = time.perf_counter() - started
                yield result
                return
            if cursor.description is None:
                result.status = "OK"
                result.rowcount = cursor.rowcount
                result.elapsed = time.perf_counter() - started
                yield result
                continue
            result.columns = [Column(d[0], "") for d in cursor.description]
            result._batches = self._stream(cursor, first, result, statement, started)
            result._on_close = lambda cursor=cursor: self._close_cursor(cursor)
            yield result
            result.close()
            if result.error is not None:
                return

    def _stream(
        self, cursor: sqlite3.Cursor, first: list[Any], result: StatementResult,
        statement: Statement, started: float,
    ) -> Iterator[list[tuple[Any, ...]]]:  # fmt: skip
        rows = first
        try:
            while rows:
                yield rows
                rows = cursor.fetchmany(self.batch_size)
            result.status = "SELECT"
        except sqlite3.Error as exc:
            result.error = self._error(exc, statement)
            raise result.error from exc
        finally:
            result.elapsed = time.perf_counter() - started

    def _close_cursor(self, cursor: sqlite3.Cursor) -> None:
        cursor.close()
        self.closed_cursors += 1

    def cancel(self) -> None:
        self.cancelled = True
        self.conn.interrupt()

    def catalog(self) -> list[CatalogItem]:
        return []

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------- helpers


def make_result(batches: Iterator[list[tuple[Any, ...]]], columns=None, closed=None):
    """A real StatementResult over given batches (the engine contract's own class)."""
    return StatementResult(
        index=0,
        statement=Statement.at("select n", 0, 8),
        columns=columns or [Column("n", "int8")],
        _batches=batches,
        _on_close=(closed.set if closed is not None else None),
    )


def batches_of(total: int, size: int = 100) -> Iterator[list[tuple[int]]]:
    for start in range(0, total, size):
        yield [(i,) for i in range(start, min(start + size, total))]


class RunLog(QObject):
    """What a playground tab does with a QueryRunner: one model per row-returning statement."""

    def __init__(self, runner: QueryRunner) -> None:
        super().__init__()
        self.events: list[tuple[Any, ...]] = []
        self.models: dict[int, ResultsModel] = {}
        self.results: dict[int, StatementResult] = {}
        runner.statement_started.connect(self.on_started)
        runner.batch.connect(self.on_batch)
        runner.statement_finished.connect(self.on_finished)
        runner.all_done.connect(self.on_done)
        runner.failed.connect(self.on_failed)

    def on_started(self, index: int, result: StatementResult) -> None:
        self.events.append(("started", index))
        if result.returns_rows:
            model = ResultsModel(self, cap=None)
            model.set_columns(result.columns)
            self.models[index] = model

    def on_batch(self, index: int, rows: list[tuple[Any, ...]]) -> None:
        self.models[index].append_rows(rows)

    def on_finished(self, index: int, result: StatementResult, more: bool) -> None:
        self.events.append(("finished", index))
        self.results[index] = result
        if index in self.models:
            self.models[index].finish(result.error is None, more, elapsed=result.elapsed)

    def on_done(self) -> None:
        self.events.append(("done",))

    def on_failed(self, error: object) -> None:
        self.events.append(("failed", error))

    def done(self) -> bool:
        return ("done",) in self.events


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
    old.quit()  # the owner stops it, but batches already queued still arrive late
    with qtbot.waitSignal(model.finished, timeout=5000):
        stream_result(make_result(iter([[("new",)]]), [Column("s", "text")]), model)
    qtbot.wait(50)
    assert model.column_names() == ["s"]
    assert model.rows() == [("new",)]
    assert model.summary() == "1 row"


# --------------------------------------------------------------------------- QueryRunner on SQLite


@pytest.fixture
def sqlite_session(tmp_path):
    session = SqliteSession(str(tmp_path / "play.db"))
    yield session
    QThreadPool.globalInstance().waitForDone(10_000)
    session.close()


SCRIPT = """
create table t(id integer primary key, name text, score real, data blob);
insert into t(name, score, data) values ('a', 1.5, x'00ff'), ('', null, null), (null, 2, x'');
select id, name, score, data, id from t order by id;
select 'semi;colon' as s;
"""


def test_runner_runs_statement_after_statement_on_sqlite(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session, cap=1000)
    log = RunLog(runner)
    runner.run(SCRIPT)
    qtbot.waitUntil(log.done, timeout=10_000)
    assert log.events == [
        ("started", 0), ("finished", 0), ("started", 1), ("finished", 1),
        ("started", 2), ("finished", 2), ("started", 3), ("finished", 3), ("done",),
    ]  # fmt: skip
    grid = log.models[2]
    assert grid.column_names() == ["id", "name", "score", "data", "id"]
    assert grid.rows() == [(1, "a", 1.5, b"\x00\xff", 1), (2, "", None, None, 2),
                           (3, None, 2.0, b"", 3)]  # fmt: skip
    assert grid.index(1, 1).data() == "" and grid.index(2, 1).data() == "NULL"
    assert grid.index(0, 3).data() == "\\x00ff"
    assert grid.summary() == "3 rows"
    assert log.models[3].rows() == [("semi;colon",)]
    assert log.results[1].rowcount == 3
    assert not runner.is_running


def test_runner_runs_many_row_statements_in_one_run(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session)
    log = RunLog(runner)
    runner.run(" ".join(f"select {i} as n;" for i in range(12)))
    qtbot.waitUntil(log.done, timeout=10_000)
    assert [log.models[i].rows() for i in range(12)] == [[(i,)] for i in range(12)]


def test_runner_stops_at_the_failing_statement(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session)
    log = RunLog(runner)
    runner.run("select 1; select * from missing_table; select 3;")
    qtbot.waitUntil(log.done, timeout=10_000)
    assert [e[:2] for e in log.events] == [
        ("started", 0), ("finished", 0), ("started", 1), ("finished", 1), ("done",),
    ]  # fmt: skip
    error = log.results[1].error
    assert isinstance(error, QueryError) and "missing_table" in str(error)
    assert error.position == 10


def test_runner_caps_each_result_and_closes_it_before_the_next(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session, cap=250)
    log = RunLog(runner)
    series = "with recursive s(x) as (select 1 union all select x + 1 from s where x < 100000)"
    runner.run(f"{series} select x from s; select 42 as answer;")
    qtbot.waitUntil(log.done, timeout=10_000)
    assert log.models[0].summary() == "250 of >250 rows"
    assert log.models[0].rows()[-1] == (250,)
    assert log.models[1].rows() == [(42,)]
    assert sqlite_session.closed_cursors == 2


def test_runner_cancel_interrupts_a_long_query(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session)
    log = RunLog(runner)
    endless = ("with recursive s(x) as (select 1 union all select x + 1 from s "
               "where x < 10000000000) select count(*) from s; select 2;")  # fmt: skip
    runner.run(endless)
    qtbot.waitUntil(lambda: runner.is_running, timeout=5000)
    time.sleep(0.2)
    started = time.monotonic()
    runner.cancel()
    qtbot.waitUntil(log.done, timeout=10_000)
    assert time.monotonic() - started < 5
    finished = [e for e in log.events if e[0] == "finished"]
    assert len(finished) == 1  # nothing ran after the cancelled statement
    assert isinstance(log.results[0].error, QueryCancelled)


def test_runner_refuses_a_second_run_and_discard_silences_it(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session)
    log = RunLog(runner)
    endless = ("with recursive s(x) as (select 1 union all select x + 1 from s "
               "where x < 10000000000) select count(*) from s;")  # fmt: skip
    worker = runner.run(endless)
    with pytest.raises(RuntimeError, match="already running"):
        runner.run("select 1")
    qtbot.waitUntil(lambda: ("started", 0) in log.events or runner.is_running)
    runner.discard()
    qtbot.waitUntil(lambda: worker.is_done, timeout=10_000)
    qtbot.wait(50)
    assert ("done",) not in log.events and ("finished", 0) not in log.events
    assert not runner.is_running
    log.events.clear()
    runner.run("select 7")
    qtbot.waitUntil(log.done, timeout=10_000)
    assert log.models[0].rows() == [(7,)]


def test_discard_with_close_session_closes_it_on_a_worker(qtbot, tmp_path):
    session = SqliteSession(str(tmp_path / "x.db"))
    runner = QueryRunner(session)
    log = RunLog(runner)
    runner.run("select 1")
    qtbot.waitUntil(log.done, timeout=5000)
    runner.discard(close_session=True)
    QThreadPool.globalInstance().waitForDone(5000)
    with pytest.raises(sqlite3.ProgrammingError):
        session.conn.execute("select 1")


@pytest.mark.parametrize("wait_for_start", [False, True])
def test_discarding_a_running_query_closes_the_session_after_it(qtbot, tmp_path, wait_for_start):
    session = SqliteSession(str(tmp_path / "x.db"))
    runner = QueryRunner(session)
    log = RunLog(runner)
    endless = ("with recursive s(x) as (select 1 union all select x + 1 from s "
               "where x < 10000000000) select count(*) from s;")  # fmt: skip
    worker = runner.run(endless)
    if wait_for_start:
        qtbot.waitUntil(lambda: worker.is_running)
        time.sleep(0.1)
    runner.discard(close_session=True)
    qtbot.waitUntil(lambda: worker.is_done, timeout=10_000)
    QThreadPool.globalInstance().waitForDone(5000)
    with pytest.raises(sqlite3.ProgrammingError):
        session.conn.execute("select 1")
    assert log.events == []


def test_connection_failure_is_reported_as_failed(qtbot, tmp_path):
    class Unreachable(SqliteSession):
        def execute(self, text: str) -> Iterator[StatementResult]:
            raise ConnectionFailed("server at 127.0.0.1:1 is not reachable")
            yield  # a generator, like every session's execute

    runner = QueryRunner(Unreachable(str(tmp_path / "x.db")))
    log = RunLog(runner)
    runner.run("select 1")
    qtbot.waitUntil(log.done, timeout=5000)
    assert [e[0] for e in log.events] == ["failed", "done"]
    assert isinstance(log.events[0][1], ConnectionFailed)


# --------------------------------------------------------------------------- real PostgreSQL


@pytest.fixture
def pg_session(pg_admin_uri):
    pytest.importorskip("dbplay_desktop.engines.postgres")
    from dbplay_desktop.engines.registry import engine_for_uri

    engine = engine_for_uri(pg_admin_uri)
    database = engine.create_sandbox()
    session = engine.connect(database)
    yield session
    QThreadPool.globalInstance().waitForDone(30_000)
    session.close()
    engine.drop_sandbox(database)
    engine.close()


def test_postgres_series_capped_with_probe(qtbot, pg_session):
    runner = QueryRunner(pg_session, cap=1000)
    log = RunLog(runner)
    runner.run("select generate_series(1, 100000) as n; select 'after' as s")
    qtbot.waitUntil(log.done, timeout=30_000)
    model = log.models[0]
    assert model.summary() == "1,000 of >1,000 rows"
    assert model.columns == [Column("n", "int4")]
    assert model.rowCount() == 500 and model.canFetchMore(QModelIndex())
    assert log.models[1].rows() == [("after",)]


def test_postgres_cancel_stops_pg_sleep_quickly(qtbot, pg_session):
    runner = QueryRunner(pg_session)
    log = RunLog(runner)
    runner.run("select pg_sleep(30); select 1;")
    time.sleep(0.5)
    started = time.monotonic()
    runner.cancel()
    qtbot.waitUntil(log.done, timeout=15_000)
    assert time.monotonic() - started < 5
    assert isinstance(log.results[0].error, QueryCancelled)
    assert ("started", 1) not in log.events


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


def test_destroying_the_runner_stops_its_run(qtbot, sqlite_session):
    import shiboken6

    runner = QueryRunner(sqlite_session, cap=None)
    log = RunLog(runner)
    series = "with recursive s(x) as (select 1 union all select x + 1 from s) select x from s"
    worker = runner.run(series)
    qtbot.waitUntil(lambda: 0 in log.models and log.models[0].received_count > 0)
    shiboken6.delete(runner)
    qtbot.waitUntil(lambda: worker.is_done, timeout=5000)
    assert sqlite_session.closed_cursors == 1
