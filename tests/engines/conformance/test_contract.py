"""The engine contract (``engines/base.py``), run against every registered engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dbplay_desktop.engines.base import (
    Column,
    ColumnKind,
    ColumnRole,
    EngineError,
    QueryCancelled,
    QueryError,
    RestoreError,
    ResultKind,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.templates.container import TemplateReader, TemplateWriter

from .conftest import EngineCase

WAIT = 120.0  # seconds: generous, only ever a ceiling for a condition


@contextmanager
def sandbox_session(case: EngineCase) -> Iterator[tuple[str, Session]]:
    """A fresh sandbox and a session on it; both gone afterwards."""
    database = case.engine.create_sandbox()
    try:
        session = case.engine.connect(database)
        try:
            yield database, session
        finally:
            session.close()
    finally:
        case.engine.drop_sandbox(database)


def run(session: Session, text: str) -> list[tuple[StatementResult, list[tuple[Any, ...]]]]:
    """Each result with its rows, read inside the loop (advancing closes a result)."""
    out = []
    for result in session.execute(text):
        rows = result.fetch_all() if result.error is None else []
        out.append((result, rows))
    return out


def rows_of(session: Session, query: str) -> list[tuple[Any, ...]]:
    ((result, rows),) = run(session, query)
    assert result.error is None, result.error
    return rows


def create_table(session: Session, case: EngineCase) -> None:
    for result, _rows in run(session, case.create_script):
        assert result.error is None, result.error


def test_split_keeps_a_semicolon_inside_a_string(case: EngineCase) -> None:
    """Statements with positions; a separator inside a literal does not split."""
    text = case.split_text
    statements = type(case.engine).split(text)
    assert [(s.text, s.line, s.column) for s in statements] == case.split_expected
    for statement in statements:
        assert text[statement.start : statement.end] == statement.text


def test_execute_gives_columns_then_rows_in_batches(case: EngineCase) -> None:
    """Every statement yields a result; a query's rows arrive in several small batches."""
    with sandbox_session(case) as (_database, session):
        create_table(session, case)
        session.batch_size = 3
        seen = []
        for result in session.execute(case.select_rows):
            assert result.error is None, result.error
            assert result.returns_rows
            assert [c.name for c in result.columns or []] == case.columns
            seen.append(list(result.batches()))
        (batches,) = seen
        assert [len(b) for b in batches] == [3, 3, 3, 1]
        assert [row for batch in batches for row in batch] == case.rows


def test_statements_run_in_order_one_result_each(case: EngineCase) -> None:
    """A script gives one result per statement, in order; DDL returns no rows."""
    with sandbox_session(case) as (_database, session):
        results = run(session, case.create_script + case.select_rows)
        count = len(type(case.engine).split(case.create_script)) + 1
        assert count >= 2
        assert [r.index for r, _ in results] == list(range(count))
        assert results[0][0].columns is None
        assert results[-1][1] == case.rows


def test_cancel_from_another_thread(case: EngineCase) -> None:
    """A long query cancelled from another thread ends with a QueryCancelled result."""
    with sandbox_session(case) as (_database, session):
        deadline = time.monotonic() + WAIT
        outcome: list[StatementResult] = []
        failures: list[BaseException] = []
        # A cancel that lands before execute() is called is forgotten; then the query is
        # started again, until a cancel stops it.
        while not outcome:
            assert time.monotonic() < deadline, "the long query was never cancelled"

            def work() -> None:
                try:
                    for result in session.execute(case.long_query):
                        try:
                            result.fetch_all()
                        except QueryCancelled:
                            pass
                        outcome.append(result)
                except BaseException as exc:  # reported by the main thread
                    failures.append(exc)

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            while worker.is_alive() and time.monotonic() < deadline:
                worker.join(0.2)
                session.cancel()
            worker.join(max(0.0, deadline - time.monotonic()))
            assert not worker.is_alive(), "cancel did not stop the long query"
            assert not failures, failures
        (result,) = outcome
        assert isinstance(result.error, QueryCancelled), result.error
        assert rows_of(session, case.probe) == case.probe_rows


def test_catalog_lists_the_table_and_its_columns(case: EngineCase) -> None:
    """A table made in the session appears in the catalog with its columns (or the
    engine's own node with its children: a key prefix and its keys)."""
    with sandbox_session(case) as (_database, session):
        create_table(session, case)
        items = [item for top in session.catalog() for item in top.walk()]
        tables = [item for item in items
                  if item.kind == case.catalog_kind and item.name == case.catalog_name]
        assert len(tables) == 1, [(i.kind, i.name) for i in items]
        children = [c.name for c in tables[0].children if c.kind == case.catalog_child_kind]
        assert children == case.catalog_children


def test_error_is_located_and_stops_the_script(case: EngineCase) -> None:
    """The failing statement's result carries the error and its line; nothing runs after."""
    with sandbox_session(case) as (_database, session):
        results = run(session, case.syntax_error)
        assert len(results) == case.error_index + 1
        assert all(r.error is None for r, _ in results[:-1])
        error = results[-1][0].error
        assert isinstance(error, QueryError), error
        assert error.line == case.error_line, (error.line, str(error))
        assert str(error) and "\n" not in str(error)
        assert rows_of(session, case.probe) == case.probe_rows


def test_dump_scan_restore_round_trip(case: EngineCase, tmp_path: Path) -> None:
    """Dump into a real template, reopen it, scan finds nothing, restore brings rows back."""
    template = tmp_path / "pets.dbtpl"
    with sandbox_session(case) as (database, session):
        create_table(session, case)
        with TemplateWriter(template, engine=case.name, name="pets", description="") as writer:
            info = case.engine.dump(database, writer)
            manifest = writer.commit(info.engine_version, info.stats)
    assert manifest.engine == case.name and manifest.files
    with TemplateReader(template) as reader:
        assert case.engine.scan(reader) == []
        assert type(case.engine).scan_payload(reader) == []
        restored = case.engine.restore(reader)
    try:
        assert restored in case.engine.list_databases()
        with case.engine.connect(restored) as session:
            assert rows_of(session, case.select_rows) == case.rows
    finally:
        case.engine.drop_sandbox(restored)
    assert not case.database_exists(restored)


def test_hostile_payload_is_refused_with_nothing_left(case: EngineCase, tmp_path: Path) -> None:
    """A payload reaching outside its sandbox: refused by scan and restore, nothing left."""
    template = tmp_path / "hostile.dbtpl"
    with TemplateWriter(template, engine=case.name, name="hostile", description="") as writer:
        with writer.open(case.payload_path) as out:
            out.write(case.hostile_payload)
        writer.commit(case.engine.server_version(), {"tables": 1})
    before = sorted(case.engine.list_databases())
    with TemplateReader(template) as reader:
        findings = case.engine.scan(reader)
        assert findings and findings[0].path == case.payload_path, findings
        assert type(case.engine).scan_payload(reader) == findings
        with pytest.raises(RestoreError) as caught:
            case.engine.restore(reader)
    assert "\n" not in str(caught.value)
    assert sorted(case.engine.list_databases()) == before
    assert not case.witness.exists()


def test_drop_sandbox_is_idempotent(case: EngineCase) -> None:
    """Dropping a sandbox twice is fine; it is gone after the first."""
    database = case.engine.create_sandbox()
    try:
        assert database in case.engine.list_databases()
        case.engine.drop_sandbox(database)
        assert database not in case.engine.list_databases()
        assert not case.database_exists(database)
    finally:
        case.engine.drop_sandbox(database)


def test_drop_sandbox_refuses_a_database_that_is_not_a_sandbox(case: EngineCase) -> None:
    """A database dbplay did not make as a sandbox is never dropped."""
    with case.foreign_database() as database:
        with pytest.raises(EngineError, match="not a dbplay sandbox"):
            case.engine.drop_sandbox(database)
        assert case.database_exists(database)


# --------------------------------------------------------------------------- result model v2
# Only the case's own texts (create_script, select_rows, long_query): engine-neutral.

#: The engines whose every result is of the kind ``rows``.
SQL_ENGINES = ("postgresql", "sqlite")


def _one(session: Session, text: str) -> tuple[StatementResult, list[tuple[Any, ...]]]:
    ((result, rows),) = run(session, text)
    assert result.error is None, result.error
    return result, rows


def test_changes_state_is_set_by_the_engine(case: EngineCase) -> None:
    """A query does not change the database; creating a table and inserting rows do."""
    with sandbox_session(case) as (_database, session):
        made = run(session, case.create_script)
        assert len(made) >= 2
        for result, _rows in made:
            assert result.error is None, result.error
            assert result.changes_state is True, result.statement.text
        selected, _rows = _one(session, case.select_rows)
        assert selected.changes_state is False


def test_results_say_their_kind_and_sql_results_are_rows(case: EngineCase) -> None:
    """Every result has a kind; both SQL engines answer with ``rows`` of plain columns."""
    with sandbox_session(case) as (_database, session):
        made = run(session, case.create_script)
        result, _rows = _one(session, case.select_rows)
        kinds = [r.kind for r, _ in made] + [result.kind]
        assert all(isinstance(kind, ResultKind) for kind in kinds), kinds
        assert result.columns is not None
        assert all(isinstance(c.kind, ColumnKind) and isinstance(c.role, ColumnRole)
                   for c in result.columns)
        if case.name in SQL_ENGINES:
            assert kinds == [ResultKind.ROWS] * len(kinds) and result.kind == "rows"
            assert all(c.kind is ColumnKind.SCALAR and c.role is ColumnRole.NONE
                       for c in result.columns)


def test_streamed_results_use_the_public_constructor(case: EngineCase) -> None:
    """A streamed result holds its stream as ``StatementResult.streaming`` makes it:
    closing it mid-way releases the cursor (the session runs the next query at once)."""
    with sandbox_session(case) as (_database, session):
        create_table(session, case)
        _result, expected = _one(session, case.select_rows)
        assert len(expected) > 2
        session.batch_size = 2
        for result in session.execute(case.select_rows):
            assert result.error is None, result.error
            batches = result.batches()
            assert next(batches) == expected[:2]
            result.close()
            assert list(batches) == []
            assert list(result.batches()) == []
        assert _one(session, case.select_rows)[1] == expected
    # the constructor itself: a result over any batches, its cursor released once
    closed: list[bool] = []
    made = StatementResult.streaming(
        0, Statement.at("q", 0, 1), [Column("n")], iter([[(1,)], [(2,)]]),
        on_close=lambda: closed.append(True), changes_state=False,
    )
    assert made.returns_rows and made.kind is ResultKind.ROWS and not made.changes_state
    assert made.columns == [Column("n", "", ColumnKind.SCALAR, ColumnRole.NONE)]
    assert made.fetch_all() == [(1,), (2,)] and closed == [True]
    made.close()
    assert closed == [True]


def test_cancel_before_a_statement_starts_still_gives_its_result(case: EngineCase) -> None:
    """``cancel()`` after ``execute()`` was called but before the statement ran: the
    statement's result says it was cancelled, and nothing after it runs."""
    with sandbox_session(case) as (_database, session):
        results = session.execute(case.long_query)
        session.cancel()
        (result,) = list(results)
        assert result.index == 0
        assert isinstance(result.error, QueryCancelled), result.error
        assert result.changes_state is False
        assert list(result.batches()) == []
        # between statements: the first ran, the second is reported cancelled
        statements = type(case.engine).split(case.create_script)
        results = session.execute(case.create_script)
        first = next(results)
        assert first.error is None, first.error
        first.fetch_all()
        session.cancel()
        rest = list(results)
        assert [r.index for r in rest] == [1]
        assert isinstance(rest[0].error, QueryCancelled)
        assert rest[0].error.line == statements[1].line
        # a cancel before execute() is called is forgotten
        session.cancel()
        _one(session, case.select_rows)


def test_a_failure_while_streaming_is_raised_by_batches_and_kept_on_the_result(
    case: EngineCase,
) -> None:
    """The one rule: a statement stopped while its rows stream raises QueryCancelled from
    ``batches()`` (after the rows before it), and ``result.error`` is that same error;
    one stopped before streaming has ``error`` set and no batches."""
    with sandbox_session(case) as (_database, session):
        deadline = time.monotonic() + WAIT
        outcome: list[tuple[StatementResult, BaseException | None]] = []

        def work() -> None:
            for result in session.execute(case.long_query):
                raised: BaseException | None = None
                try:
                    for _batch in result.batches():
                        pass
                except QueryCancelled as exc:
                    raised = exc
                outcome.append((result, raised))

        while not outcome:
            assert time.monotonic() < deadline, "the long query was never cancelled"
            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            while worker.is_alive() and time.monotonic() < deadline:
                worker.join(0.2)
                session.cancel()
            worker.join(max(0.0, deadline - time.monotonic()))
            assert not worker.is_alive(), "cancel did not stop the long query"
        ((result, raised),) = outcome
        assert isinstance(result.error, QueryCancelled), result.error
        if raised is not None:
            assert raised is result.error
        else:  # stopped before its rows streamed: no batches at all
            assert list(result.batches()) == []
