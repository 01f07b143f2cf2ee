"""The scan's own wall: PL/pgSQL bodies always parsed, every way of naming a function,
any depth PostgreSQL accepts, bounded work, and a scan that can be cancelled."""

from __future__ import annotations

import io
import itertools

import pytest

from dbplay_desktop.engines.postgres import safety as pg_safety
from dbplay_desktop.engines.postgres.safety import ScanCancelled, scan_script, scan_statement


def plpgsql(body: str, header: str = "f() RETURNS void") -> str:
    return f"CREATE FUNCTION app.{header} LANGUAGE plpgsql AS $body$\n{body}\n$body$"


QUALIFIED = 'DECLARE v s.t; w "Odd"."T"[]; x CONSTANT app.mood := NULL;\n'
HIDDEN = [
    ("BEGIN COPY t FROM PROGRAM 'id'; END", "PROGRAM"),
    ("BEGIN SET ROLE postgres; END", "ROLE"),
    ("BEGIN CREATE ROLE evil SUPERUSER; END", "roles"),
    ("BEGIN GRANT pg_read_server_files TO CURRENT_USER; END", "role membership"),
    ("BEGIN LOAD 'auto_explain'; END", "LOAD"),
    ("BEGIN PERFORM pg_read_file/**/('/etc/passwd'); END", "pg_read_file()"),
    ("BEGIN PERFORM ('/etc/passwd'::text).pg_read_file; END", "pg_read_file()"),
    ("BEGIN v := x; PERFORM lo_import('/etc/passwd'); END", "lo_import()"),
    ("BEGIN w[pg_read_file('x')] := NULL; END", "pg_read_file()"),
    ("BEGIN EXECUTE 'ALTER SYSTEM SET work_mem = 1'; END", "ALTER SYSTEM"),
    ("BEGIN DECLARE y s.t := pg_ls_dir('.'); BEGIN NULL; END; END", "pg_ls_dir()"),
]


@pytest.mark.parametrize(("body", "expected"), HIDDEN, ids=[b[:30] for b, _ in HIDDEN])
def test_bodies_with_schema_qualified_types_are_parsed(body: str, expected: str) -> None:
    for header in ("f() RETURNS void", "f(m app.mood DEFAULT 'ok'::app.mood) RETURNS app.t"):
        messages = scan_statement(plpgsql(QUALIFIED + body, header))
        assert any(expected in m for m in messages), messages
        assert all("cannot be checked" not in m for m in messages), messages
    messages = scan_statement(f"DO $$ {QUALIFIED}{body} $$")
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "declaration",
    [
        "w t DEFAULT lo_import('/etc/passwd');",
        "w public.t := pg_read_file('x');",
        "w s.t = pg_ls_dir('.');",
        "w CONSTANT record := (pg_read_file('x'), 1);",
    ],
)
def test_defaults_of_composite_variables_are_scanned(declaration: str) -> None:
    # libpg_query's JSON leaves these defaults out; the scan reads the declarations
    messages = scan_statement(plpgsql(f"DECLARE {declaration} BEGIN NULL; END"))
    assert any("reads or writes files" in m for m in messages), messages


def test_qualified_types_in_fine_bodies_pass() -> None:
    body = QUALIFIED + "r s.t%ROWTYPE; u app.users.name%TYPE;\nBEGIN v := w[1]; RETURN; END"
    assert scan_statement(plpgsql(body, "f(a app.t[], OUT b s.t) RETURNS SETOF app.t")) == []


def test_unparseable_bodies_are_refused_naming_the_function() -> None:
    messages = scan_statement(plpgsql("DECLARE c CURSOR (a s.t) FOR SELECT 1; BEGIN END"))
    messages += scan_statement(plpgsql("BEGIN GET DIAGNOSTICS nothing = ROW_COUNT; END"))
    assert messages and all(
        m.startswith("in function app.f: PL/pgSQL body cannot be checked") for m in messages
    ), messages


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ('/etc/passwd'::text).pg_read_file",
        "SELECT t.pg_read_file FROM (SELECT '/etc/passwd'::text) AS t",
        "SELECT (row('.')::t).pg_ls_dir",
        "CREATE VIEW v AS SELECT ('.'::text).pg_ls_dir",
        "CREATE TYPE r AS RANGE (SUBTYPE = text, SUBTYPE_DIFF = pg_read_file)",
        "CREATE TYPE r AS RANGE (SUBTYPE = text, CANONICAL = public.pg_read_file)",
        "CREATE TYPE b (INPUT = pg_read_file, OUTPUT = textout)",
        "CREATE TYPE b (INPUT = textin, OUTPUT = textout, RECEIVE = 'pg_read_binary_file')",
        "CREATE TYPE b (INPUT = textin, OUTPUT = textout, ANALYZE = pg_reload_conf)",
        "ALTER TYPE b SET (SEND = lo_export)",
        "CREATE OPERATOR ### (FUNCTION = pg_read_file, RIGHTARG = text)",
        "CREATE OPERATOR ### (PROCEDURE = f, RIGHTARG = text, RESTRICT = pg_reload_conf)",
        "CREATE OPERATOR ### (FUNCTION = f, LEFTARG = int, RIGHTARG = int, JOIN = dblink)",
        "ALTER OPERATOR ### (int, int) SET (RESTRICT = pg_promote)",
        "CREATE AGGREGATE a(text) (SFUNC = f, STYPE = text, FINALFUNC = pg_read_file)",
        "CREATE AGGREGATE a(text) (SFUNC = f, STYPE = text, COMBINEFUNC = pg_ls_dir)",
        "CREATE AGGREGATE a(text) (SFUNC = f, STYPE = text, SERIALFUNC = lo_import)",
        "CREATE AGGREGATE a (BASETYPE = text, SFUNC = pg_read_file, STYPE = text)",
        "CREATE CAST (text AS int) WITH FUNCTION pg_read_file(text)",
        "CREATE TRANSFORM FOR int LANGUAGE plperl (FROM SQL WITH FUNCTION lo_import(internal))",
        "CREATE CONVERSION c FOR 'UTF8' TO 'LATIN1' FROM pg_read_file",
        "CREATE TEXT SEARCH PARSER p (START = pg_read_file, GETTOKEN = f, END = f, LEXTYPES = f)",
        "CREATE TEXT SEARCH TEMPLATE tt (LEXIZE = pg_ls_dir)",
        "CREATE ACCESS METHOD am TYPE TABLE HANDLER pg_read_file",
        "CREATE LANGUAGE l HANDLER pg_read_file",
        "CREATE DOMAIN d AS text DEFAULT pg_read_file('x')",
        "CREATE DOMAIN d AS text CHECK (pg_read_file(VALUE) IS NOT NULL)",
        "CREATE FUNCTION f(int) RETURNS int LANGUAGE sql SUPPORT pg_read_file AS 'SELECT 1'",
        "CREATE OPERATOR CLASS c FOR TYPE int USING btree AS FUNCTION 1 pg_read_file(text)",
        "CREATE POLICY p ON t USING (pg_read_file('x') IS NULL)",
        "CREATE INDEX i ON t ((pg_read_file(a)))",
        "ALTER FUNCTION f() SET role = 'postgres'",
    ],
)
def test_every_way_of_naming_a_function_is_checked(sql: str) -> None:
    assert scan_statement(sql), sql


def test_plain_attribute_and_definition_names_pass() -> None:
    assert scan_statement("SELECT (t).name, t.x.y FROM t") == []
    assert (
        scan_statement("CREATE TYPE r AS RANGE (SUBTYPE = float8, SUBTYPE_DIFF = float8mi)") == []
    )
    assert (
        scan_statement("CREATE AGGREGATE a(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0')")
        == []
    )


# --------------------------------------------------------------------------- depth and size


@pytest.mark.parametrize("terms", [600, 5_000, 9_000])
def test_deep_expressions_scan(terms: int) -> None:
    left_deep = "(" * (terms - 1) + "a" + "".join(" + a)" for _ in range(terms - 1))
    assert scan_statement(f"CREATE VIEW v AS SELECT {left_deep} FROM t") == []
    denied = "(" * (terms - 1) + "a" + " + a)" * (terms - 2) + " + length(pg_read_file('x')))"
    assert any("pg_read_file" in m for m in scan_statement(f"SELECT {denied} FROM t"))


def test_what_is_too_deep_for_the_parser_gives_one_clear_finding() -> None:
    # PostgreSQL's own grammar and stack limits refuse these too
    assert scan_statement("SELECT " + " + ".join(["a"] * 15_000)) == []
    for sql in ("SELECT " + " + ".join(["a"] * 40_000), "SELECT " + "(" * 20_000 + "1"):
        messages = scan_statement(sql)
        assert len(messages) == 1 and "nested too deeply" in messages[0], messages


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT " + "9" * 10_000,
        "SELECT 1 LIMIT " + "9" * 10_000,
        "SET x = " + "9" * 10_000,
        "SELECT ''::text" + "::text" * 3_000,
        "SELECT " + "-" * 5_000 + "1",
    ],
)
def test_huge_numbers_and_long_chains_scan(sql: str) -> None:
    assert scan_statement(sql) == []


def test_nesting_is_bounded_and_never_recursion() -> None:
    def do_blocks(levels: int, inner: str) -> str:
        sql = inner
        for level in range(levels):
            sql = f"DO $t{level}$ BEGIN {sql}; END $t{level}$"
        return sql

    assert any(
        "pg_read_file" in m for m in scan_statement(do_blocks(5, "PERFORM pg_read_file('x')"))
    )
    messages = scan_statement(do_blocks(400, "PERFORM 1"))
    assert len(messages) == 1 and "nested more than 16 levels" in messages[0], messages[0][-200:]


def test_functions_in_an_atomic_body_are_not_parsed_with_the_outer_text() -> None:
    inner = "CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;"
    sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC " + inner * 300 + " END"
    messages = scan_statement(sql)
    assert messages == ["in function f: function g is created inside another statement"] or (
        len(messages) == 1 and "created inside another statement" in messages[0]
    ), messages


def test_statements_over_the_limit_are_refused_unparsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_safety, "MAX_STATEMENT_CHARS", 100)
    assert scan_statement("SELECT '" + "x" * 200 + "'") == [
        "statement is longer than 100 characters (the most one template statement may hold)"
    ]


# --------------------------------------------------------------------------- progress


def test_scan_reports_progress_and_can_be_cancelled() -> None:
    data = b"SELECT 1;\n" * 1000 + b"COPY t FROM stdin;\n" + b"1\n" * 300_000 + b"\\.\n"
    heard: list[tuple[int, int | None]] = []

    def listen(done: int, total: int | None) -> bool:
        heard.append((done, total))
        return False

    assert scan_script(io.BytesIO(data), "x.sql", listen, len(data)) == []
    assert heard[-1] == (len(data), len(data))
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(heard))

    with pytest.raises(ScanCancelled, match="scan cancelled"):
        scan_script(io.BytesIO(data), "x.sql", lambda done, total: done > 1000)
