"""The query runner: whole runs over real databases, statement after statement on one
worker, with caps, cancel, discard and closing the session (SQLite through the tiny
adapter in ``helpers_results``; PostgreSQL through the test server)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from psycopg.pq import TransactionStatus
from PySide6.QtCore import QModelIndex, QThreadPool

from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    ConnectionFailed,
    QueryCancelled,
    QueryError,
    ResultKind,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.ui.playground.query_runner import QueryRunner
from dbplay_desktop.values import MISSING
from tests.ui.helpers_results import RunLog, SqliteSession

ACTIVE = TransactionStatus.ACTIVE


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


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
#: Counts to ten billion: runs until it is cancelled or its session closed.
ENDLESS = ("with recursive s(x) as (select 1 union all select x + 1 from s "
           "where x < 10000000000) select count(*) from s;")  # fmt: skip


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
    runner.run(ENDLESS + " select 2;")
    qtbot.waitUntil(lambda: ("started", 0) in log.events or runner.is_running, timeout=5000)
    time.sleep(0.2)  # into the counting, so the cancel interrupts it rather than precedes it
    runner.cancel()
    # Counting to ten billion takes far longer than this wait: the cancel ended it.
    qtbot.waitUntil(log.done, timeout=10_000)
    finished = [e for e in log.events if e[0] == "finished"]
    assert len(finished) == 1  # nothing ran after the cancelled statement
    assert isinstance(log.results[0].error, QueryCancelled)


def test_runner_refuses_a_second_run_and_discard_silences_it(qtbot, sqlite_session):
    runner = QueryRunner(sqlite_session)
    log = RunLog(runner)
    worker = runner.run(ENDLESS)
    ended: list[bool] = []
    # Delivered after every event of the run (one sender, queued in order).
    worker.signals.finished.connect(lambda: ended.append(True))
    with pytest.raises(RuntimeError, match="already running"):
        runner.run("select 1")
    qtbot.waitUntil(lambda: ("started", 0) in log.events or runner.is_running)
    runner.discard()
    qtbot.waitUntil(lambda: bool(ended), timeout=10_000)
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
    worker = runner.run(ENDLESS)
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


# --------------------------------------------------------------------------- real PostgreSQL


@pytest.fixture
def pg_session(pg_session):
    """The shared sandbox session (``tests/conftest.py``); runs left on the pool end first."""
    yield pg_session
    QThreadPool.globalInstance().waitForDone(30_000)


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
    # Until the sleep is on the server (not its BEGIN or DECLARE), then stop it: the run
    # ends well before the 30 s sleep would.
    qtbot.waitUntil(lambda: pg_session._open is not None
                    and pg_session._conn.info.transaction_status == ACTIVE, timeout=15_000)
    runner.cancel()
    qtbot.waitUntil(log.done, timeout=15_000)
    assert isinstance(log.results[0].error, QueryCancelled)
    assert ("started", 1) not in log.events


# --------------------------------------------------------------------------- result model v2


def test_runner_stops_a_result_at_its_memory_budget_and_runs_the_next(qtbot, sqlite_session):
    from dbplay_desktop.values import row_size

    size = row_size((1, "z" * 500))
    runner = QueryRunner(sqlite_session, cap=None, memory_limit=300 * size)
    log = RunLog(runner)
    series = "with recursive s(x) as (select 1 union all select x + 1 from s where x < 100000)"
    runner.run(f"{series} select 1, printf('%.500c', 'z') from s; select 42 as answer;")
    qtbot.waitUntil(log.done, timeout=10_000)
    assert log.models[0].received_count == 300
    assert log.models[0].summary() == "300 of >300 rows"
    assert log.models[1].rows() == [(42,)]
    assert sqlite_session.closed_cursors == 2


class _DocumentSession(Session):
    """A session whose one result finds a new field in its second batch (as a document
    store's does); the engine contract's own result class, no driver."""

    def execute(self, text: str) -> Iterator[StatementResult]:
        def batches() -> Iterator[list[tuple[object, ...]]]:
            yield [(1,), (2,)]
            result.add_columns([Column("email")])
            yield [(3, "a@b.c")]

        result = StatementResult.streaming(
            0, Statement.at(text, 0, len(text)), [Column("_id")], batches(),
            kind=ResultKind.DOCUMENTS, changes_state=False,
        )
        yield result

    def cancel(self) -> None:
        pass

    def catalog(self) -> list[CatalogItem]:
        return []

    def close(self) -> None:
        pass


def test_runner_sends_columns_added_while_a_result_streams(qtbot):
    runner = QueryRunner(_DocumentSession(), cap=None)
    log = RunLog(runner)
    added: list[list[str]] = []

    def on_columns(index: int, columns: list[Column]) -> None:
        added.append([c.name for c in columns])
        model = log.models[index]
        model.add_columns(columns[model.columnCount():])

    runner.columns_added.connect(on_columns)
    runner.run("find")
    qtbot.waitUntil(log.done, timeout=10_000)
    assert added == [["_id", "email"]]
    model = log.models[0]
    assert model.column_names() == ["_id", "email"]
    assert model.rows() == [(1, MISSING), (2, MISSING), (3, "a@b.c")]
    assert log.results[0].kind is ResultKind.DOCUMENTS
