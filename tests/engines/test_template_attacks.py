"""Attacks on the untrusted-template defences, against the real test server.

Each test plays a hostile template author: hide SQL from the safety scan, reach outside
the sandbox with what the scan cannot see (dynamic SQL), or plant something that later
runs with the app's admin credentials. The scan must refuse with ``path:line``, or the
restore / the sandbox role must stop it; nothing may create a file, run a program or
touch another database.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psycopg
import pytest
from psycopg import sql

from dbplay_desktop.engines.base import EngineError, PayloadSource, RestoreError
from dbplay_desktop.engines.postgres.safety import scan_script
from dbplay_desktop.templates.container import TemplateReader
from tests.helpers import craft_template, with_database

# --------------------------------------------------------------------------- helpers


def scan(script: str | bytes) -> list[str]:
    data = script.encode() if isinstance(script, str) else script
    return [str(finding) for finding in scan_script(io.BytesIO(data), "dump.sql")]


def _databases(admin_uri: str) -> set[str]:
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _restore(engine, path: Path, database: str | None = None) -> str:
    with TemplateReader(path) as reader:
        return engine.restore(reader, database)


@pytest.fixture
def trap() -> Iterator[str]:
    """A file path an attack would create on the server (the server runs on this machine)."""
    path = Path(f"/tmp/dbplay-attack-{secrets.token_hex(6)}")
    yield str(path)
    assert not path.exists(), f"an attack created {path}"


@contextmanager
def no_trace(admin_uri: str) -> Iterator[None]:
    """The databases of the server, and the postgres database's objects, stay as they were."""
    query = "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        objects = conn.execute(query).fetchone()
    databases = _databases(admin_uri)
    yield
    assert _databases(admin_uri) == databases
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        assert conn.execute(query).fetchone() == objects


def _as_sandbox(engine, database: str, statements: list[str]) -> None:
    """Run statements as the sandbox's own role (what a template's code or the editor can do)."""
    with engine._opener(database)(autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


class _Payload(PayloadSource):
    """A one-file payload; ``later`` is what every read after the first returns."""

    def __init__(self, first: bytes, later: bytes | None = None) -> None:
        self.first, self.later, self.reads = first, later, 0

    def paths(self) -> list[str]:
        return ["dump.sql"]

    def size(self, path: str) -> int | None:
        return None

    def open(self, path: str) -> IO[bytes]:
        self.reads += 1
        data = self.first if self.reads == 1 or self.later is None else self.later
        return io.BytesIO(data)


# --------------------------------------------------------------------------- scan: lexing


@pytest.mark.parametrize(
    "payload",
    [
        "SELECT U&\"pg_read_\\0066ile\"('/etc/passwd');",
        "SELECT U&\"pg_read_!0066ile\" UESCAPE '!'('/etc/passwd');",
        "SELECT E'\\''; COPY t FROM PROGRAM 'id'; -- ';",
        "SELECT $a$ $b$ $a$; COPY t FROM PROGRAM 'id'; -- $b$;",
        "CoPy/*x*/t/* y */FROM--z\nPrOgRaM/**/'id';",
        "COPY t FROM stdin;\n\\.\nCOPY t FROM PROGRAM 'id';\n",
        "SELECT 1;\rCOPY t FROM PROGRAM 'id';\r",
        'SELECT pg_catalog."lo_import"(\'/etc/passwd\');',
        "SELECT set_config('ROLE', 'x', false);",
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT pg_ls_dir('.'); END;",
    ],
)
def test_hidden_statements_are_refused_with_their_line(payload: str) -> None:
    findings = scan("SELECT 1;\n" + payload)
    line = 4 if payload.startswith("COPY t FROM stdin") else 2  # after the COPY data
    assert findings and findings[0].startswith(f"dump.sql:{line}: ")


def test_nul_byte_hides_nothing_from_the_scan() -> None:
    # The parser would stop reading at the NUL; the text after it must not slip through.
    findings = scan(b"SELECT 1 \x00 ALTER ROLE CURRENT_USER SET work_mem = '1MB';\n")
    assert findings == [
        "dump.sql:1: NUL byte in SQL text (PostgreSQL text cannot contain one) "
        "(SELECT 1 \x00 ALTER ROLE CURRENT_USER SET work_mem = '1MB')"
    ]


def test_restrict_line_cannot_carry_a_second_meta_command() -> None:
    assert scan("\\restrict abc123\nSELECT 1;\n\\unrestrict abc123\n") == []
    findings = scan("\\restrict abc \\! touch /tmp/x\nSELECT 1;\n")
    assert findings and findings[0].startswith("dump.sql:1: psql meta-command \\restrict")


@pytest.mark.parametrize(
    "statement",
    [
        "COMMENT ON DATABASE sbx IS 'not a sandbox'",
        "SECURITY LABEL ON DATABASE sbx IS 'x'",
        "GRANT CONNECT ON DATABASE sbx TO PUBLIC",
        "GRANT SET ON PARAMETER work_mem TO PUBLIC",
        "COMMENT ON ROLE CURRENT_USER IS 'x'",
    ],
)
def test_server_level_comments_and_grants_are_refused(statement: str) -> None:
    assert scan(statement + ";")[0].startswith("dump.sql:1: ")


def test_ordinary_comments_and_grants_pass() -> None:
    assert scan("COMMENT ON SCHEMA public IS 'x';\nCOMMENT ON TABLE t IS 'y';\n") == []


# --------------------------------------------------------------------------- restore: the wall


# What the scan cannot see (dynamic SQL) and the sandbox role must stop. ``{trap}`` is a
# path that must never appear.
ROLE_WALL = [
    "EXECUTE 'COPY (SELECT 1) TO PRO' || 'GRAM ' || quote_literal('touch {trap}')",
    "EXECUTE 'COPY (SELECT 1) TO ' || quote_literal('{trap}')",
    "EXECUTE format('SELECT %s(lo_from_bytea(0, ''x''), %L)', 'lo_export', '{trap}')",
    "EXECUTE format('SELECT %s(%L)', 'pg_read_file', '/etc/passwd')",
    "EXECUTE format('SELECT %s(%L)', 'lo_import', '/etc/passwd')",
    "EXECUTE format('SELECT set_config(%L, %L, false)', 'role', 'pg_execute_server_program')",
    "EXECUTE 'SET SESSION AUTHORIZATION ' || (SELECT rolname FROM pg_roles WHERE rolsuper LIMIT 1)",
    "EXECUTE 'ALTER SYS' || 'TEM SET work_mem = ''1MB'''",
    "EXECUTE 'CREATE EXTENSION ' || 'dblink'",
    "EXECUTE 'LOAD ' || quote_literal('auto_explain')",
    "EXECUTE 'SET session_preload' || '_libraries = auto_explain'",
    "EXECUTE 'CREATE EVENT ' || 'TRIGGER e ON ddl_command_start EXECUTE FUNCTION now()'",
    "EXECUTE 'CREATE DATABASE ' || quote_ident('{trap}')",
    "EXECUTE 'CREATE ROLE ' || quote_ident('{trap}')",
]


@pytest.mark.parametrize("body", ROLE_WALL)
def test_dynamic_sql_meets_the_sandbox_role(pg_engine, pg_admin_uri, tmp_path, trap, body):
    code = body.format(trap=trap).replace("'", "''")
    payload = f"CREATE TABLE t (x int);\nDO 'BEGIN {code}; END';\n".encode()
    path = craft_template(tmp_path / "evil.dbtpl", payload)
    assert scan(payload) == []  # dynamic SQL: the scan cannot see it, the role must stop it
    with no_trace(pg_admin_uri), pytest.raises(RestoreError, match=r"^dump\.sql:2: "):
        _restore(pg_engine, path)


def test_turning_standard_conforming_strings_off_is_caught(pg_engine, pg_admin_uri, tmp_path):
    # With the setting off the server reads '\'' as a whole string and runs the ALTER
    # the scan saw inside a string literal.
    payload = (
        b"CREATE TABLE t (x int);\n"
        b"DO $$BEGIN EXECUTE 'SET standard_conforming_' || 'strings = off'; END$$;\n"
        b"SELECT '\\'' ; ALTER ROLE CURRENT_USER SET work_mem = $$1MB$$; -- ' AS x;\n"
    )
    assert scan(payload) == []
    path = craft_template(tmp_path / "quotes.dbtpl", payload)
    with no_trace(pg_admin_uri), pytest.raises(RestoreError) as caught:
        _restore(pg_engine, path)
    assert str(caught.value).startswith("dump.sql:2: refused: the template changed "
                                        "standard_conforming_strings")


def test_restore_reads_quotes_as_the_scan_whatever_the_database_says(pg_engine, pg_admin_uri):
    name = f"scs_off_{secrets.token_hex(4)}"
    target = sql.Identifier(name)
    with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(target))
        setting = "ALTER DATABASE {} SET standard_conforming_strings = off"
        conn.execute(sql.SQL(setting).format(target))
    try:
        payload = b"CREATE TABLE t (x text);\nINSERT INTO t VALUES ('a\\');\n"
        pg_engine.restore(_Payload(payload), name)
        with psycopg.connect(with_database(pg_admin_uri, name)) as conn:
            assert conn.execute("SELECT x FROM t").fetchone() == ("a\\",)
    finally:
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(target))


def test_a_statement_runs_alone(pg_engine, pg_sandbox):
    """Even if scan and server ever disagree on where a statement ends, one runs at most."""
    from dbplay_desktop.engines.postgres.restore import _run_item
    from dbplay_desktop.engines.postgres.script_reader import ScriptItem

    item = ScriptItem("statement", "SELECT 1; CREATE TABLE x ()", 1)
    with (
        pg_engine._opener(pg_sandbox)() as conn,
        pytest.raises(psycopg.Error, match="multiple commands"),
    ):
        _run_item(conn.cursor(), item)


def test_a_payload_that_changes_after_the_scan_cannot_run_the_change(
    pg_engine, pg_admin_uri, trap
):
    """The restore reads the payload once and scans each statement right before it runs,
    so a file that reads differently the second time never gets a second reading."""
    safe = b"CREATE TABLE t (x int);\nSELECT 1;\n"
    evil = b"CREATE TABLE t (x int);\nCOPY t TO PROGRAM 'touch " + trap.encode() + b"';\n"
    payload = _Payload(safe, evil)
    database = pg_engine.restore(payload)
    try:
        assert payload.reads == 1
    finally:
        pg_engine.drop_sandbox(database)
    with no_trace(pg_admin_uri), pytest.raises(RestoreError) as caught:
        pg_engine.restore(_Payload(evil))
    assert str(caught.value).startswith("dump.sql:2: refused: COPY ... PROGRAM")


@pytest.mark.parametrize(
    "change",
    [
        "format('COMMENT ON DATABASE %I IS %L', current_database(), 'mine')",
        "format('ALTER DATABASE %I SET search_path = public, pg_catalog', current_database())",
        "format('ALTER DATABASE %I IS_TEMPLATE true', current_database())",
        "format('ALTER DATABASE %I CONNECTION LIMIT 1', current_database())",
        "'ALTER ROLE CURRENT_USER ' || 'SET work_mem = ''1MB'''",
        "'ALTER ROLE CURRENT_USER ' || 'PASSWORD ''known'''",
    ],
)
def test_database_level_changes_are_refused(pg_engine, pg_admin_uri, tmp_path, change):
    payload = f"CREATE TABLE t (x int);\nDO $$BEGIN EXECUTE {change}; END$$;\n".encode()
    path = craft_template(tmp_path / "db.dbtpl", payload)
    with no_trace(pg_admin_uri), pytest.raises(
        RestoreError, match=r"must be owner|template changed"
    ):
        _restore(pg_engine, path)


def test_a_grant_on_its_database_changes_nothing(pg_engine, pg_admin_uri, tmp_path):
    "The sandbox role holds no grant option: the server only warns, and nothing changes."
    change = "format('GRANT CONNECT ON DATABASE %I TO PUBLIC', current_database())"
    payload = f"CREATE TABLE t (x int);\nDO $$BEGIN EXECUTE {change}; END$$;\n".encode()
    database = _restore(pg_engine, craft_template(tmp_path / "db.dbtpl", payload))
    try:
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            public = conn.execute(
                "SELECT count(*) FROM pg_database d, aclexplode(d.datacl) a "
                "WHERE d.datname = %s AND a.grantee = 0",
                (database,),
            ).fetchone()
        assert public == (0,)
    finally:
        pg_engine.drop_sandbox(database)


# --------------------------------------------------------------------------- after restore


# A function shadowing a built-in the admin might call, and an operator over bigint; both
# try to run a program when called with the admin's privileges.
_PLANT = """
CREATE FUNCTION public.evil() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE 'COPY (SELECT 1) TO PROGRAM ' || quote_literal('touch {trap}');
EXCEPTION WHEN insufficient_privilege THEN NULL;
END $f$;
CREATE FUNCTION public.format_type(oid, integer) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.evil(); RETURN pg_catalog.format_type($1, $2); END $f$;
CREATE FUNCTION public.plus(bigint, bigint) RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN PERFORM public.evil(); RETURN $1 OPERATOR(pg_catalog.+) $2; END $f$;
CREATE OPERATOR public.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.plus);
CREATE TABLE t (x int);
"""


def test_a_sandbox_that_rewrites_its_comment_stays_a_sandbox(
    pg_engine, pg_admin_uri, tmp_path, trap
):
    from dbplay_desktop.templates.container import TemplateWriter

    database = pg_engine.create_sandbox()
    try:
        # What a template's trigger or the editor can try later, as the sandbox's role:
        # the database belongs to the admin, so each of these is refused by the server.
        _as_sandbox(pg_engine, database, [_PLANT.format(trap=trap)])
        for change in (
            f"ALTER DATABASE {database} SET search_path = public, pg_catalog",
            f"COMMENT ON DATABASE {database} IS 'just a database'",
            f"ALTER DATABASE {database} IS_TEMPLATE true",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _as_sandbox(pg_engine, database, [change])
        session = pg_engine.connect(database)
        try:
            user = [result.fetch_all() for result in session.execute("SELECT current_user")]
        finally:
            session.close()
        assert user[0][0][0].startswith("dbplay_sbx_")  # never the admin's account
        with TemplateWriter(tmp_path / "saved.dbtpl", engine="postgresql", name="x") as writer:
            info = pg_engine.dump(database, writer)  # counts rows, then pg_dump
        assert info.stats["tables"] == 1
    finally:
        pg_engine.drop_sandbox(database)  # a template flag must not make it undroppable
    assert database not in _databases(pg_admin_uri)


def test_admin_connections_ignore_the_sandbox_search_path(pg_engine, pg_admin_uri, trap):
    name = f"target_{secrets.token_hex(4)}"
    database = pg_engine.create_sandbox(name)
    try:
        _as_sandbox(pg_engine, database, [_PLANT.format(trap=trap)])
        # The worst case: a database whose search_path puts the planted functions first
        # (a sandbox role cannot set it any more; a sandbox of an older dbplay could).
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {database} SET search_path = public, pg_catalog")
        # Restoring into it again checks, with the admin's connection, that it is empty.
        with pytest.raises(RestoreError, match="not empty"):
            pg_engine.restore(_Payload(b"SELECT 1;\n"), database)
    finally:
        try:
            pg_engine.drop_sandbox(database)
        except EngineError:
            pass
