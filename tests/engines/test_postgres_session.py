"""The PostgreSQL engine against a real server: statements, streaming, errors, cancel, catalog."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from dbplay_desktop.engines.base import EngineError, QueryCancelled, QueryError


def run(session, text):
    """Execute and drain every result, returning (result, rows) pairs."""
    out = []
    for result in session.execute(text):
        rows = result.fetch_all() if result.returns_rows else None
        out.append((result, rows))
    return out


def test_statements_run_in_order_with_status_and_rows(pg_session):
    results = run(
        pg_session,
        "create table t (a int, b text);\n"
        "insert into t values (1, 'x;y'), (2, $$a;b$$);\n"
        "select a, b, a from t order by a; -- trailing ; comment\n",
    )
    assert [r.status for r, _ in results] == ["CREATE TABLE", "INSERT 0 2", "SELECT 2"]
    select, rows = results[2]
    assert [c.name for c in select.columns] == ["a", "b", "a"]  # duplicate names kept apart
    assert [c.type_name for c in select.columns] == ["int4", "text", "int4"]
    assert rows == [(1, "x;y", 1), (2, "a;b", 2)]
    assert select.rowcount == 2
    assert all(r.elapsed >= 0 for r, _ in results)


def test_error_in_third_statement_keeps_first_two(pg_session):
    text = "create table k (id int);\ninsert into k values (1);\nselect nope from k;\nselect 4;"
    results = run(pg_session, text)
    assert len(results) == 3
    failed = results[2][0]
    assert isinstance(failed.error, QueryError)
    assert "nope" in str(failed.error) and "\n" not in str(failed.error)
    assert failed.error.line == 3 and failed.error.column == 8
    assert text[failed.error.position : failed.error.position + 4] == "nope"
    again = run(pg_session, "select count(*) from k")
    assert again[0][1] == [(1,)]


def test_rows_stream_in_batches_from_a_server_cursor(pg_session):
    pg_session.batch_size = 1000
    result = next(pg_session.execute("select g from generate_series(1, 250000) g"))
    batches = result.batches()
    first = next(batches)
    assert len(first) == 1000 and first[0] == (1,)
    # the rest is still on the server: the cursor is open in a transaction
    result.close()
    assert result.rowcount == -1
    follow = run(pg_session, "select 1")
    assert follow[0][1] == [(1,)]


def test_insert_returning_and_show_return_rows(pg_session):
    results = run(
        pg_session,
        "create table r (id serial, v text); "
        "insert into r (v) values ('a'), ('b') returning id; show timezone",
    )
    assert results[1][1] == [(1,), (2,)]
    assert results[1][0].status == "INSERT 0 2"
    assert results[2][0].columns[0].name == "TimeZone"


def test_notices_are_collected(pg_session):
    results = run(pg_session, "do $$ begin raise notice 'hello %', 42; end $$")
    assert any("hello 42" in n for n in results[0][0].notices)


def test_user_transactions_are_respected(pg_session):
    run(pg_session, "create table tx (a int)")
    run(pg_session, "begin; insert into tx values (1); select * from tx; rollback")
    assert run(pg_session, "select count(*) from tx")[0][1] == [(0,)]


def _wait_until_running(session, timeout: float = 20.0) -> None:
    """Until the session's query is fetching on the server (a cancel then reaches it, not
    the BEGIN or DECLARE before it)."""
    from psycopg import pq

    deadline = time.monotonic() + timeout
    while (session._open is None
           or session._conn.info.transaction_status != pq.TransactionStatus.ACTIVE):
        assert time.monotonic() < deadline, "the statement never started"
        time.sleep(0.01)


def test_cancel_from_another_thread_stops_a_long_query(pg_session):
    results = []

    def work():
        for result in pg_session.execute("select pg_sleep(30); select 1"):
            results.append(result)
            try:
                result.fetch_all()
            except QueryCancelled:
                pass

    thread = threading.Thread(target=work)
    thread.start()
    _wait_until_running(pg_session)
    pg_session.cancel()
    thread.join(20)
    assert not thread.is_alive()  # well before the 30 s sleep would have ended
    assert len(results) == 1 and isinstance(results[0].error, QueryCancelled)
    assert run(pg_session, "select 2")[0][1] == [(2,)]


def test_cancel_while_streaming(pg_session):
    pg_session.batch_size = 100
    result = next(pg_session.execute("select g, pg_sleep(0.01) from generate_series(1, 100000) g"))
    got = []

    def stop_soon():
        time.sleep(0.5)
        pg_session.cancel()

    threading.Thread(target=stop_soon).start()
    with pytest.raises(QueryCancelled):
        for batch in result.batches():
            got.extend(batch)
    assert isinstance(result.error, QueryCancelled)
    assert run(pg_session, "select 3")[0][1] == [(3,)]


def test_statement_timeout(pg_engine, pg_sandbox):
    session = pg_engine.connect(pg_sandbox)
    try:
        session.set_timeout(0.3)
        result = next(session.execute("select pg_sleep(5)"))
        with pytest.raises(QueryCancelled):
            result.fetch_all()  # a query's rows are computed as they are fetched
        assert isinstance(result.error, QueryCancelled)
        assert "timeout" in str(result.error)
    finally:
        session.close()


def test_catalog_lists_objects(pg_session):
    run(
        pg_session,
        """
        create schema "Sales";
        create type mood as enum ('sad', 'happy');
        create table "Sales"."Orders" (id int primary key, note text not null, m mood);
        create index orders_note on "Sales"."Orders" (lower(note));
        create view v as select 1 as one;
        create materialized view mv as select 2 as two;
        create function add1(i int) returns int language sql as 'select i + 1';
        create procedure p() language sql as 'select 1';
        create sequence s;
    """,
    )
    tree = {schema.name: schema for schema in pg_session.catalog()}
    assert set(tree) == {"public", "Sales"}
    orders = next(i for i in tree["Sales"].children if i.name == "Orders")
    assert orders.kind == "table" and orders.insert_text == '"Sales"."Orders"'
    columns = {c.name: c.detail for c in orders.children if c.kind == "column"}
    assert columns == {"id": "integer primary key", "note": "text not null", "m": "mood"}
    indexes = {c.name: c.detail for c in orders.children if c.kind == "index"}
    assert indexes == {
        "Orders_pkey": "primary key btree (id)",
        "orders_note": "btree (lower(note))",
    }
    kinds = {(i.name, i.kind) for i in tree["public"].children}
    assert {
        ("v", "view"),
        ("mv", "materialized view"),
        ("add1", "function"),
        ("p", "procedure"),
        ("s", "sequence"),
        ("mood", "type"),
    } <= kinds


def test_sessions_run_as_an_unprivileged_role(pg_session):
    user, superuser = run(
        pg_session, "select current_user, rolsuper from pg_roles where rolname = current_user"
    )[0][1][0]
    assert user.startswith("dbplay_sbx_") and superuser is False
    for text in (
        "select pg_read_file('/etc/passwd')",
        "alter system set work_mem = '1MB'",
        "create role evil",
        "copy (select 1) to '/tmp/dbplay-nope'",
        "create extension dblink",
    ):
        error = run(pg_session, text)[0][0].error
        assert error is not None, text


def test_drop_sandbox_refuses_other_databases(pg_engine, pg_admin_uri):
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute("create database users_own_db")
    try:
        with pytest.raises(EngineError, match="not a dbplay sandbox"):
            pg_engine.drop_sandbox("users_own_db")
    finally:
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute("drop database users_own_db")


def test_create_and_drop_sandbox_leave_no_role(pg_engine, pg_admin_uri):
    database = pg_engine.create_sandbox()
    with psycopg.connect(pg_admin_uri) as conn:
        owner = conn.execute(
            "select pg_get_userbyid(a.grantee) from pg_database d, aclexplode(d.datacl) a"
            " where d.datname = %s and a.privilege_type = 'CREATE'"
            " and pg_get_userbyid(a.grantee) like 'dbplay_sbx_%%'",
            (database,),
        ).fetchone()[0]
    pg_engine.drop_sandbox(database)
    pg_engine.drop_sandbox(database)  # idempotent
    with psycopg.connect(pg_admin_uri) as conn:
        assert (
            conn.execute("select 1 from pg_roles where rolname = %s", (owner,)).fetchone() is None
        )
        assert database not in pg_engine.list_databases()


def test_unreachable_server_is_one_line(pg_engine):
    from dbplay_desktop.engines.registry import engine_for_uri

    engine = engine_for_uri("postgresql://nobody:secretpw@127.0.0.1:1/postgres")
    with pytest.raises(EngineError) as info:
        engine.server_version()
    message = str(info.value)
    assert "\n" not in message and "127.0.0.1:1" in message and "secretpw" not in message


def test_abandoned_playgrounds_are_dropped_but_named_and_busy_ones_kept(pg_engine):
    abandoned = pg_engine.create_sandbox()  # unnamed: a window's throwaway playground
    busy = pg_engine.create_sandbox()
    named = pg_engine.create_sandbox("restored_by_the_cli")
    session = pg_engine.connect(busy)
    try:
        dropped = pg_engine.drop_abandoned_playgrounds()
        assert abandoned in dropped
        assert busy not in dropped and named not in dropped
        databases = pg_engine.list_databases()
        assert abandoned not in databases and named in databases
    finally:
        session.close()
        for database in (busy, named, abandoned):
            pg_engine.drop_sandbox(database)


def test_error_detail_and_hint_are_part_of_the_one_line_message(pg_session):
    results = run(pg_session, "create table u (id int primary key); insert into u values (1), (1)")
    error = results[1][0].error
    message = str(error)
    assert message.startswith('duplicate key value violates unique constraint "u_pkey"')
    assert "Key (id)=(1) already exists." in message and "\n" not in message
    assert results[1][0].notices == []


def test_errors_carry_the_servers_code_detail_and_hint_as_fields(pg_session):
    results = run(pg_session, "create table v (id int primary key); insert into v values (1), (1)")
    error = results[1][0].error
    assert error.code == "23505" and error.code_name == "SQLSTATE"
    assert error.reason == 'duplicate key value violates unique constraint "v_pkey"'
    assert error.detail == "Key (id)=(1) already exists." and error.hint is None
    assert error.message == f"{error.reason} — {error.detail}" == str(error)
    hinted = run(pg_session, "select now() + true")[0][0].error
    assert hinted.code == "42883" and hinted.hint and hinted.hint.startswith("No operator")
    assert str(hinted).endswith(f"(hint: {hinted.hint})")
    assert hinted.position == len("select now() ")  # the operator the server points at


def test_a_runtime_error_has_no_position_but_the_statements_line(pg_session):
    text = "select 1;\n  select 1/0;\nselect 2;"
    results = run(pg_session, text)
    assert len(results) == 2
    error = results[1][0].error
    assert isinstance(error, QueryError) and error.code == "22012"
    assert error.position is None  # the server gave none: the statement failed as a whole
    assert (error.line, error.column) == (2, 3)


def test_changes_state_follows_pglasts_reading_of_each_statement(pg_session):
    """Reads (SELECT, VALUES, TABLE, SHOW, EXPLAIN without ANALYZE) change nothing; DDL,
    DML, SET, SELECT INTO, row locks, data-modifying WITH and EXPLAIN ANALYZE of a write
    do. A data-modifying WITH runs as it is (no cursor accepts it) and returns its rows."""
    script = (
        "create table w (a int);\n"                                   # 0 True
        "insert into w values (1), (2);\n"                            # 1 True
        "select a from w order by a;\n"                               # 2 False
        "values (1);\n"                                               # 3 False
        "table w;\n"                                                  # 4 False
        "show search_path;\n"                                         # 5 False
        "explain select * from w;\n"                                  # 6 False
        "explain analyze select * from w;\n"                          # 7 False
        "explain (analyze) insert into w values (3);\n"               # 8 True
        "explain (analyze off) delete from w;\n"                      # 9 False
        "select * into w2 from w;\n"                                  # 10 True
        "select a from w for update;\n"                               # 11 True
        "with gone as (delete from w where a = 3 returning a) select a from gone;\n"  # 12
        "set search_path = public;\n"                                 # 13 True
    )
    results = run(pg_session, script)
    assert all(r.error is None for r, _ in results), [r.error for r, _ in results]
    assert [r.changes_state for r, _ in results] == [
        True, True, False, False, False, False, False, False, True, False, True, True, True,
        True,
    ]
    assert results[12][1] == [(3,)]
    assert run(pg_session, "select count(*) from w")[0][1] == [(2,)]


def test_a_failed_statement_is_still_read_by_its_kind(pg_session):
    ((result, _rows),) = run(pg_session, "insert into nowhere values (1)")
    assert isinstance(result.error, QueryError) and result.changes_state is True
    ((result, _rows),) = run(pg_session, "select * from nowhere")
    assert isinstance(result.error, QueryError) and result.changes_state is False
