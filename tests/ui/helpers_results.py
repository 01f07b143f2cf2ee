"""Shared by the results-model and query-runner tests: a tiny real SQLite session, real
``StatementResult`` objects over given batches, and a stand-in for a playground tab.

Not the product's SQLite engine (that comes later): just enough of ``Session`` to stream
real query results through the grid's worker code.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QObject

from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    QueryCancelled,
    QueryError,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.ui.playground.query_runner import QueryRunner
from dbplay_desktop.ui.results.model import ResultsModel

# --------------------------------------------------------------------------- a tiny SQLite adapter
# Statements are cut where ``sqlite3.complete_statement`` says they end; ``cancel``
# interrupts the connection.


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


def shown_view(qtbot, model: ResultsModel, size: tuple[int, int] = (800, 400)):
    """A results view of ``model``, shown and exposed (so it lays out and paints)."""
    from dbplay_desktop.ui.results.view import ResultsView

    view = ResultsView(model)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view
