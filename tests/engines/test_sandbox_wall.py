"""The sandbox's walls against a hostile template, on the real test server.

What a template can run at COMMIT or later (deferred triggers, functions a superuser may
call), what could outlive its sandbox (a password it chose, objects in other databases),
what a failed restore into a user's own database may leave, and sandboxes a statement
keeps busy. Each class is tried in several variants.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dbplay_desktop.engines.base import EngineError, RestoreError
from dbplay_desktop.engines.postgres.engine import PostgresEngine
from dbplay_desktop.engines.postgres.sandbox import SandboxBusy
from dbplay_desktop.engines.sandbox_journal import SandboxJournal
from dbplay_desktop.templates.container import TemplateReader
from tests.helpers import (
    UNCANCELLABLE_AFTER,
    UNCANCELLABLE_SQL,
    craft_template,
    database_exists,
    with_database,
)


def restore(engine: PostgresEngine, path: Path, database: str | None = None) -> str:
    with TemplateReader(path) as reader:
        return engine.restore(reader, database)


def databases(admin_uri: str) -> set[str]:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def sandbox_roles(admin_uri: str) -> set[str]:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbplay_sbx_%'")
        return {row[0] for row in rows}


def role_of(engine: PostgresEngine, database: str) -> str:
    from dbplay_desktop.engines.postgres.sandbox import sandbox_role

    with engine._admin() as conn:
        role = sandbox_role(conn, database)
    assert role is not None
    return role


def first(results):
    """The first statement result of a run (the run is consumed)."""
    results = list(results)
    return results[0]


def at_commit(statement: str) -> bytes:
    """A payload whose deferred constraint trigger runs ``statement`` inside COMMIT."""
    return f"""
CREATE TABLE t (x int);
CREATE FUNCTION at_commit() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN EXECUTE {statement}; RETURN NULL; END $f$;
CREATE CONSTRAINT TRIGGER later AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION at_commit();
INSERT INTO t VALUES (1);
""".encode()


# --------------------------------------------------------------------------- at COMMIT


# Built at run time, so the static scan cannot see them: the server and the check
# after the commit are what stop them.
_ROLE = "'ALTER ' || 'ROLE CURRENT_USER "
_DATABASE = "format('ALTER ' || 'DATABASE %I "


@pytest.mark.parametrize(
    ("statement", "why"),
    [
        (_DATABASE + "SET search_path = public, pg_catalog', current_database())", "owner"),
        (_DATABASE + "CONNECTION LIMIT 1', current_database())", "owner"),
        (_DATABASE + "IS_TEMPLATE true', current_database())", "owner"),
        (_DATABASE + "RESET ALL', current_database())", "owner"),
        ("format('COMMENT ' || 'ON DATABASE %I IS %L', current_database(), 'mine')", "owner"),
        (_ROLE + "SET search_path = public, pg_catalog'", "settings of its database or role"),
        (_ROLE + "IN DATABASE ' || current_database() || ' SET work_mem = 64'", "settings"),
        (_ROLE + "RESET lock_timeout'", "settings of its database or role"),
        (_ROLE + "PASSWORD ' || quote_literal('known')", "password"),
        (_ROLE + "CONNECTION LIMIT 5'", "permission denied"),
        (_ROLE + "VALID UNTIL ' || quote_literal('2100-01-01')", "permission denied"),
    ],
)
def test_what_runs_at_commit_cannot_change_the_database_or_role(
    pg_engine, pg_admin_uri, tmp_path, statement, why
):
    before_databases, before_roles = databases(pg_admin_uri), sandbox_roles(pg_admin_uri)
    path = craft_template(tmp_path / "commit.dbtpl", at_commit(statement))
    with pytest.raises(RestoreError, match=why) as caught:
        restore(pg_engine, path)
    assert "Exception" not in str(caught.value) and "refused: in function" not in str(caught.value)
    assert databases(pg_admin_uri) == before_databases
    assert sandbox_roles(pg_admin_uri) == before_roles


def test_an_error_raised_at_commit_is_one_line(pg_engine, pg_admin_uri, tmp_path):
    payload = at_commit("'SELECT 1/0'")
    with pytest.raises(RestoreError, match=r"^at commit: division by zero$"):
        restore(pg_engine, craft_template(tmp_path / "raise.dbtpl", payload))


def test_a_superuser_calling_now_in_a_sandbox_stays_the_only_superuser(
    pg_engine, pg_admin_uri, tmp_path
):
    """``public.now()`` that promotes the sandbox role when a superuser calls it: the
    sandbox cannot put public before pg_catalog, so a superuser never runs it."""
    payload = b"""
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE format('ALTER ROLE %I SUPERUSER', (SELECT rolname FROM pg_roles
                                             WHERE rolname LIKE 'dbplay_sbx_%' LIMIT 1));
  RETURN pg_catalog.now();
EXCEPTION WHEN insufficient_privilege THEN RETURN pg_catalog.now();
END $f$;
CREATE TABLE t (x int);
"""
    database = restore(pg_engine, craft_template(tmp_path / "now.dbtpl", payload))
    role = role_of(pg_engine, database)
    try:
        with psycopg.connect(with_database(pg_admin_uri, database), autocommit=True) as conn:
            conn.execute("SELECT now()")
            super_ = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone()
        assert super_ == (False,)
    finally:
        pg_engine.drop_sandbox(database)


# --------------------------------------------------------------------------- logging in


def test_a_sandbox_role_cannot_log_in_with_a_password_it_chose(pg_engine, pg_server):
    database = pg_engine.create_sandbox()
    role = role_of(pg_engine, database)
    try:
        with pg_engine.connect(database) as session:
            results = list(session.execute(f"ALTER ROLE {role} PASSWORD 'known'"))
            assert results[0].error is None  # PostgreSQL lets a role change its password
        for target in (database, "postgres"):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(
                    host=pg_server.host, port=pg_server.port, dbname=target,
                    user=role, password="known", connect_timeout=10,
                )
        # dbplay itself still gets in: every login sets a fresh password of its own.
        with pg_engine.connect(database) as session:
            assert first(session.execute("SELECT 1")).error is None
    finally:
        pg_engine.drop_sandbox(database)


def test_roles_rest_without_login_or_password(pg_engine, pg_admin_uri):
    database = pg_engine.create_sandbox()
    role = role_of(pg_engine, database)
    try:
        with pg_engine.connect(database), psycopg.connect(pg_admin_uri) as conn:
            row = conn.execute(
                "SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = %s",
                (role,),
            ).fetchone()
        assert row == (False, True)  # even while a session is open
    finally:
        pg_engine.drop_sandbox(database)


def test_a_sandbox_database_belongs_to_the_admin(pg_engine, pg_admin_uri):
    database = pg_engine.create_sandbox()
    try:
        with psycopg.connect(pg_admin_uri) as conn:
            owner, comment = conn.execute(
                "SELECT pg_get_userbyid(datdba), shobj_description(oid, 'pg_database') "
                "FROM pg_database WHERE datname = %s",
                (database,),
            ).fetchone()
            admin = conn.execute("SELECT current_user").fetchone()[0]
        assert owner == admin and comment == "dbplay sandbox (playground)"
        with pg_engine.connect(database) as session:
            for text in (
                "CREATE SCHEMA s",
                "CREATE TABLE public.t (x int)",
                "CREATE TEMP TABLE tt (x int)",
                "CREATE EXTENSION pg_trgm",
            ):
                assert first(session.execute(text)).error is None, text
    finally:
        pg_engine.drop_sandbox(database)


# --------------------------------------------------------------------------- dropping


def test_dropping_a_sandbox_removes_what_its_role_owns_elsewhere(pg_engine, pg_admin_uri):
    database = pg_engine.create_sandbox()
    role = role_of(pg_engine, database)
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        oid = conn.execute("SELECT lo_create(0)").fetchone()[0]
        conn.execute(sql.SQL("ALTER LARGE OBJECT {} OWNER TO {}").format(
            sql.Literal(oid), sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE TABLE public.{} (x int)").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER TABLE public.{0} OWNER TO {0}").format(sql.Identifier(role)))
    pg_engine.drop_sandbox(database)
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None
        assert conn.execute(
            "SELECT 1 FROM pg_largeobject_metadata WHERE oid = %s", (oid,)
        ).fetchone() is None
        assert conn.execute("SELECT to_regclass(%s)", (f"public.{role}",)).fetchone() == (None,)


def test_a_role_that_cannot_be_dropped_is_disabled_and_said(pg_engine, pg_admin_uri):
    database = pg_engine.create_sandbox()
    role = role_of(pg_engine, database)
    closed = f"closed_{secrets.token_hex(3)}"
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(closed)))
    try:
        with psycopg.connect(with_database(pg_admin_uri, closed), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE TABLE kept (x int)"))
            conn.execute(sql.SQL("ALTER TABLE kept OWNER TO {}").format(sql.Identifier(role)))
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(
                sql.Identifier(closed)))
        with pytest.raises(EngineError, match="disabled"):
            pg_engine.drop_sandbox(database)
        assert not database_exists(pg_admin_uri, database)
        with psycopg.connect(pg_admin_uri) as conn:
            row = conn.execute(
                "SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = %s",
                (role,),
            ).fetchone()
        assert row == (False, True)
    finally:
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(closed)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_sandbox_kept_busy_is_journaled_and_dropped_at_the_next_start(
    pg_admin_uri, tmp_path
):
    """A statement that ignores cancel and terminate requests (pg_trgm's similarity on
    long strings) keeps DROP DATABASE ... WITH (FORCE) from working for a while."""
    journal = SandboxJournal(tmp_path / "journal.json")
    engine = PostgresEngine(pg_admin_uri, journal=journal)
    database = engine.create_sandbox()
    role = role_of(engine, database)
    session = engine.connect(database)
    assert first(session.execute("CREATE EXTENSION pg_trgm")).error is None
    slow = UNCANCELLABLE_SQL
    runner = threading.Thread(target=lambda: list(session.execute(slow)), daemon=True)
    runner.start()
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        for _ in range(600):
            active = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
                " AND clock_timestamp() - query_start > %s",
                (database, UNCANCELLABLE_AFTER),
            ).fetchone()[0]
            if active:
                break
            time.sleep(0.05)
    try:
        with pytest.raises(SandboxBusy, match="next start"):
            engine.drop_sandbox(database)
    except BaseException:
        runner.join(300)
        raise
    assert [entry.database for entry in journal.pending(engine.server_key)] == [database]
    with psycopg.connect(pg_admin_uri) as conn:
        assert conn.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,)
        ).fetchone() == (False,)
    runner.join(300)
    session.close()
    # The next start (a new engine on the same journal) drops it once it is quiet.
    later = PostgresEngine(pg_admin_uri, journal=journal)
    for _ in range(600):
        if database in later.retry_pending_drops(force=True):
            break
        time.sleep(0.1)
    assert not database_exists(pg_admin_uri, database)
    assert role not in sandbox_roles(pg_admin_uri)
    assert journal.pending(engine.server_key) == []


# --------------------------------------------------------------------------- existing target


def _database_facts(admin_uri: str, database: str) -> tuple:
    with psycopg.connect(admin_uri) as conn:
        row = conn.execute(
            """
            SELECT pg_get_userbyid(d.datdba), shobj_description(d.oid, 'pg_database'),
                   ARRAY(SELECT a::text FROM aclexplode(coalesce(d.datacl,
                         acldefault('d', d.datdba))) a ORDER BY 1),
                   d.datistemplate, d.datconnlimit
            FROM pg_database d WHERE d.datname = %s
            """,
            (database,),
        ).fetchone()
    with psycopg.connect(with_database(admin_uri, database)) as conn:
        schema = conn.execute(
            "SELECT pg_get_userbyid(nspowner), ARRAY(SELECT a::text FROM aclexplode(nspacl) a"
            " ORDER BY 1) FROM pg_namespace WHERE nspname = 'public'"
        ).fetchone()
    return (*row, *schema)


@pytest.mark.parametrize(
    "payload",
    [
        b"CREATE TABLE t (x int);\nSELECT 1/0;\n",
        b"CREATE TABLE t (x int);\nCOPY t FROM PROGRAM 'id';\n",
        at_commit("'SELECT 1/0'"),
        at_commit("'ALTER ' || 'ROLE CURRENT_USER SET work_mem = 64'"),
    ],
)
def test_a_failed_restore_leaves_an_existing_database_as_it_was(
    pg_engine, pg_admin_uri, tmp_path, payload
):
    name = f"users_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        before, roles = _database_facts(pg_admin_uri, name), sandbox_roles(pg_admin_uri)
        with pytest.raises(RestoreError):
            restore(pg_engine, craft_template(tmp_path / "bad.dbtpl", payload), name)
        assert _database_facts(pg_admin_uri, name) == before
        assert sandbox_roles(pg_admin_uri) == roles
        with psycopg.connect(with_database(pg_admin_uri, name)) as conn:
            assert conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)
    finally:
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_a_restore_into_an_existing_database_hands_it_to_its_owner(
    pg_engine, pg_admin_uri, tmp_path
):
    name = f"users_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        before, roles = _database_facts(pg_admin_uri, name), sandbox_roles(pg_admin_uri)
        payload = b"CREATE SCHEMA s;\nCREATE TABLE s.t (x int);\nCREATE TABLE u (y int);\n"
        restore(pg_engine, craft_template(tmp_path / "ok.dbtpl", payload), name)
        assert _database_facts(pg_admin_uri, name) == before
        assert sandbox_roles(pg_admin_uri) == roles
        with psycopg.connect(with_database(pg_admin_uri, name)) as conn:
            owners = conn.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                "WHERE relname IN ('t', 'u')"
            ).fetchall()
        assert owners == [(before[0],)]
        with pytest.raises(EngineError, match="not a dbplay sandbox"):
            pg_engine.drop_sandbox(name)
    finally:
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_cancelling_a_restore_stuck_in_an_uncancellable_statement_returns(
    pg_admin_uri, tmp_path
):
    """Cancel, then terminate, are ignored; the restore still returns, and the sandbox it
    could not drop yet is journaled for the next start."""
    journal = SandboxJournal(tmp_path / "journal.json")
    engine = PostgresEngine(pg_admin_uri, journal=journal)
    payload = (
        b"CREATE EXTENSION pg_trgm;\n"
        + UNCANCELLABLE_SQL.encode() + b";\n"
    )
    before = databases(pg_admin_uri)
    asked = []

    def cancel_once_running(done: int, total: int | None) -> bool:
        asked.append(done)
        return len(asked) > 2

    with (
        TemplateReader(craft_template(tmp_path / "stuck.dbtpl", payload)) as reader,
        pytest.raises(RestoreError, match="cancelled"),
    ):
        engine.restore(reader, progress=cancel_once_running)
    left = databases(pg_admin_uri) - before
    assert {entry.database for entry in journal.pending(engine.server_key)} == left
    later = PostgresEngine(pg_admin_uri, journal=journal)
    for _ in range(1200):
        later.retry_pending_drops(force=True)
        if not journal.pending(engine.server_key):
            break
        time.sleep(0.1)
    assert databases(pg_admin_uri) == before
