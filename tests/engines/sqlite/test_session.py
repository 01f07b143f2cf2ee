"""SQLite sessions on real files: statements, batches, errors with lines, cancel, catalog."""

from __future__ import annotations

import threading

import pytest

from dbplay_desktop.engines.base import ConnectionFailed, QueryCancelled, QueryError

COUNT_FOREVER = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n"
)


def run(session, text):
    """Each result with its rows, read before the next statement runs (as the window does)."""
    return [(result, result.fetch_all()) for result in session.execute(text)]


@pytest.fixture
def session(engine):
    name = engine.create_sandbox()
    with engine.connect(name) as session:
        yield session
    engine.drop_sandbox(name)


def test_statements_run_in_order_and_rows_stream_in_batches(session):
    session.batch_size = 4
    text = (
        "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT);\n"
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 10)\n"
        "INSERT INTO t (note) SELECT 'n' || i FROM s;\n"
        "SELECT id, note FROM t ORDER BY id;"
    )
    results = []
    for result in session.execute(text):
        batches = list(result.batches())
        results.append((result, batches))
    (create, _), (insert, _), (select, batches) = results
    assert create.columns is None and create.error is None
    assert insert.rowcount == 10 and insert.status == "INSERT 10"
    assert [c.name for c in select.columns] == ["id", "note"]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert batches[0][0] == (1, "n1")
    assert select.rowcount == 10 and select.status == "SELECT 10"


def test_error_is_located_and_stops_the_script(session):
    text = "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n\n  SELECT nope FROM a;\nSELECT 1;"
    results = run(session, text)
    assert len(results) == 3
    error = results[2][0].error
    assert isinstance(error, QueryError)
    assert "no such column: nope" in str(error)
    assert (error.line, error.column) == (4, 10)
    assert text[error.position : error.position + 4] == "nope"
    assert "\n" not in str(error)
    # the work before the error stays (autocommit, like the sqlite3 shell)
    assert run(session, "SELECT count(*) FROM a")[0][1] == [(1,)]


def test_syntax_error_points_at_the_token(session):
    text = "SELECT 1;\nSELECT *\n  FROM t WHERE a = 2 GROUP wrong;"
    error = run(session, text)[1][0].error
    assert "syntax error" in str(error)
    assert (error.line, error.column) == (3, 28)
    # a token that occurs twice is not guessed at: the statement's start is given
    error = run(session, "SELECT 1;\nSELECT *\n  FROM t WHERE a = = 2;")[1][0].error
    assert (error.line, error.column, error.position) == (2, 1, None)


def test_cancel_from_another_thread_stops_a_long_query(session):
    outcome: list[object] = []

    def work() -> None:
        for result, _rows in run(session, COUNT_FOREVER):
            outcome.append(result.error)

    # the query starts inside execute(); cancel repeatedly until the worker is done,
    # so a cancel that lands before the statement starts cannot leave it running
    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        session.cancel()
        worker.join(0.05)
    worker.join(60)
    assert not worker.is_alive()
    assert isinstance(outcome[0], QueryCancelled)
    assert run(session, "SELECT 1")[0][1] == [(1,)]


def test_timeout_stops_a_statement(session):
    session.set_timeout(0.05)
    (result,) = list(session.execute(COUNT_FOREVER))
    assert isinstance(result.error, QueryCancelled)
    assert "timeout" in str(result.error)
    session.set_timeout(None)


def test_returning_streams_rows_with_its_own_status(session):
    run(session, "CREATE TABLE t (id INTEGER PRIMARY KEY, x)")
    ((result, rows),) = run(session, "INSERT INTO t (x) VALUES ('a'), ('b') RETURNING id")
    assert rows == [(1,), (2,)] and result.status == "INSERT 2"
    ((result, rows),) = run(session, "PRAGMA user_version")
    assert rows == [(0,)] and result.status == "PRAGMA 1"


def test_user_transactions_work(session):
    run(session, "CREATE TABLE t (x); BEGIN; INSERT INTO t VALUES (1); ROLLBACK;")
    assert run(session, "SELECT count(*) FROM t")[0][1] == [(0,)]


def test_catalog_lists_tables_views_columns_indexes_triggers(engine, rich_db):
    with engine.connect(str(rich_db)) as session:
        (main,) = session.catalog()
    assert main.kind == "schema"
    items = {item.name: item for item in main.children}
    assert items["strict_v"].kind == "view"
    strict = items["strict_t"]
    assert strict.kind == "table"
    kinds = {child.name: (child.kind, child.detail) for child in strict.children}
    assert kinds["a"] == ("column", "INTEGER not null")
    assert kinds["strict_b"] == ("index", "(b)")
    assert kinds["strict_ins"][0] == "trigger"
    gen = {c.name: c.detail for c in items["gen"].children if c.kind == "column"}
    assert gen["b"] == "INT generated"
    assert items['odd "name"'].insert_text == '"odd ""name"""'


def test_connect_never_creates_a_missing_file(engine, tmp_path):
    with pytest.raises(ConnectionFailed):
        engine.connect(str(tmp_path / "typo.db"))
    assert not (tmp_path / "typo.db").exists()


def test_template_functions_that_reach_outside_are_refused_in_sessions(session):
    (result,) = list(session.execute("SELECT load_extension('/tmp/x')"))
    assert isinstance(result.error, QueryError)
    assert "not authorized" in str(result.error)


def test_changes_state_follows_the_statements_words(session):
    """Reads (SELECT, VALUES, WITH ... SELECT, EXPLAIN, a PRAGMA that reads) change
    nothing; everything else does, a PRAGMA that sets or acts included."""
    script = (
        "CREATE TABLE w (a);\n"                                       # 0 True
        "INSERT INTO w VALUES (1), (2);\n"                            # 1 True
        "SELECT a FROM w;\n"                                          # 2 False
        "VALUES (1);\n"                                               # 3 False
        "WITH x AS (SELECT 1) SELECT * FROM x;\n"                     # 4 False
        "EXPLAIN QUERY PLAN DELETE FROM w;\n"                         # 5 False
        "PRAGMA user_version;\n"                                      # 6 False
        "PRAGMA table_info(w);\n"                                     # 7 False
        "PRAGMA user_version = 3;\n"                                  # 8 True
        "PRAGMA main.user_version(4);\n"                              # 9 True
        "WITH x AS (SELECT 1) DELETE FROM w WHERE a IN (SELECT * FROM x);\n"  # 10 True
        "/* a comment */ SELECT 1;\n"                                 # 11 False
        "BEGIN; COMMIT;\n"                                            # 12, 13 True
    )
    results = run(session, script)
    assert all(r.error is None for r, _ in results), [r.error for r, _ in results]
    assert [r.changes_state for r, _ in results] == [
        True, True, False, False, False, False, False, False, True, True, True, False, True,
        True,
    ]
    assert run(session, "SELECT count(*) FROM w")[0][1] == [(1,)]
    assert run(session, "PRAGMA user_version")[0][1] == [(4,)]
