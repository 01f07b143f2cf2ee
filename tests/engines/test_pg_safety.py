"""The static safety scan of untrusted PostgreSQL payloads: refusals, lines, real dumps."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from dbplay_desktop.engines.base import Finding
from dbplay_desktop.engines.postgres.safety import scan_script, scan_statement
from tests.helpers import GeneratedStream


def scan(script: str | bytes, path: str = "data.sql") -> list[Finding]:
    data = script.encode() if isinstance(script, str) else script
    return scan_script(io.BytesIO(data), path)


# --------------------------------------------------------------------------- real output

def test_real_pg_dump_output_passes() -> None:
    assert scan(REAL_DUMP) == []


def test_pg_dump_statements_pass_one_by_one() -> None:
    for sql in [
        "SET default_table_access_method = heap",
        "SELECT pg_catalog.set_config('search_path', '', false)",
        "SELECT pg_catalog.setval('app.counter', 142, true)",
        "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public",
        "ALTER TABLE ONLY app.events ATTACH PARTITION app.e FOR VALUES IN (1)",
        "ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY",
        "REFRESH MATERIALIZED VIEW app.mv",
        "BEGIN",
        "SELECT pg_catalog.lo_open('16682', 131072)",
        "SELECT pg_catalog.lowrite(0, '\\x68656c6c6f')",
        "COMMIT",
        "ANALYZE app.orders",
        "LISTEN jobs",
        "NOTIFY jobs, 'x'",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS 'return 1'",
        "CREATE LANGUAGE plpgsql",
        "COPY app.t (a, b) FROM stdin",
    ]:
        assert scan_statement(sql) == [], sql


# --------------------------------------------------------------------------- refusals

REFUSED = [
    ("COPY t FROM PROGRAM 'id'", "COPY ... PROGRAM"),
    ("COPY t TO PROGRAM 'cat > /tmp/x'", "COPY ... PROGRAM"),
    ("COPY t FROM '/etc/passwd'", "server file"),
    ("COPY t TO '/tmp/out'", "server file"),
    ("COPY t TO STDOUT", "TO STDOUT"),
    ("COPY (SELECT 1) TO STDOUT", "TO STDOUT"),
    ("ALTER SYSTEM SET work_mem = '1GB'", "ALTER SYSTEM"),
    ("CREATE ROLE bob", "roles"),
    ("CREATE USER bob PASSWORD 'x'", "roles"),
    ("CREATE GROUP staff", "roles"),
    ("ALTER ROLE bob SUPERUSER", "roles"),
    ("ALTER USER bob SET search_path = x", "roles"),
    ("ALTER GROUP staff ADD USER bob", "roles"),
    ("ALTER ROLE bob RENAME TO eve", "roles"),
    ("DROP ROLE bob", "roles"),
    ("DROP USER IF EXISTS bob", "roles"),
    ("GRANT pg_read_server_files TO CURRENT_USER", "role membership"),
    ("REVOKE staff FROM bob", "role membership"),
    ("SET ROLE postgres", "ROLE"),
    ("SET LOCAL ROLE postgres", "ROLE"),
    ("RESET ROLE", "ROLE"),
    ("SET SESSION AUTHORIZATION postgres", "SESSION AUTHORIZATION"),
    ("RESET SESSION AUTHORIZATION", "SESSION AUTHORIZATION"),
    ("SET session_preload_libraries = 'x'", "libraries"),
    ("SET standard_conforming_strings = off", "standard_conforming_strings"),
    ("SET client_encoding = 'SJIS'", "UTF8"),
    ("CREATE DATABASE other", "databases"),
    ("ALTER DATABASE postgres SET work_mem = '1MB'", "databases"),
    ("ALTER DATABASE postgres RENAME TO x", "databases"),
    ("DROP DATABASE postgres", "databases"),
    ("CREATE TABLESPACE ts LOCATION '/tmp'", "tablespaces"),
    ("LOAD 'auto_explain'", "LOAD"),
    ("CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", "event triggers"),
    ("CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p", "subscriptions"),
    ("CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw", "foreign"),
    ("CREATE FOREIGN DATA WRAPPER w", "foreign"),
    ("CREATE USER MAPPING FOR CURRENT_USER SERVER s", "foreign"),
    ("IMPORT FOREIGN SCHEMA public FROM SERVER s INTO x", "foreign"),
    ("CREATE FOREIGN TABLE ft (a int) SERVER s", "foreign"),
    ("CREATE TRUSTED LANGUAGE pl HANDLER h", "CREATE LANGUAGE"),
    ("CREATE LANGUAGE plpython3u", '"plpython3u" is not allowed'),
    ("ALTER TABLE t OWNER TO bob", "OWNER TO"),
    ("ALTER SEQUENCE s OWNER TO bob", "OWNER TO"),
    ("ALTER FUNCTION f() OWNER TO bob", "OWNER TO"),
    ("ALTER SCHEMA s OWNER TO bob", "OWNER TO"),
    ("ALTER LARGE OBJECT 1 OWNER TO bob", "OWNER TO"),
    ("CREATE SCHEMA s AUTHORIZATION bob", "AUTHORIZATION"),
    ("REASSIGN OWNED BY bob TO eve", "REASSIGN OWNED"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("VACUUM t", "VACUUM"),
    ("VACUUM (ANALYZE) t", "VACUUM"),
    ("CREATE INDEX CONCURRENTLY i ON t (a)", "CONCURRENTLY"),
    ("DROP INDEX CONCURRENTLY i", "CONCURRENTLY"),
    ("REINDEX TABLE CONCURRENTLY t", "CONCURRENTLY"),
    ("PREPARE TRANSACTION 'x'", "transaction control"),
    ("ROLLBACK", "transaction control"),
    ("SAVEPOINT s", "transaction control"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE c AS '$libdir/evil', 'f'", "language c"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE internal AS 'int4pl'", "language internal"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'", "plpython3u"),
    ("CREATE PROCEDURE p() LANGUAGE plperlu AS 'system(1)'", "procedure p uses language"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE plperl AS 'lib.so', 'f'", "server library"),
    ("DO LANGUAGE plpython3u $$ import os $$", "DO block uses language plpython3u"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file() reads or writes files"),
    ("SELECT pg_catalog.pg_read_binary_file('x')", "pg_read_binary_file()"),
    ("SELECT * FROM pg_ls_dir('.')", "pg_ls_dir()"),
    ("SELECT * FROM pg_ls_waldir()", "pg_ls_waldir()"),
    ("SELECT pg_stat_file('x')", "pg_stat_file()"),
    ("SELECT pg_file_write('a', 'b', false)", "pg_file_write()"),
    ("SELECT lo_import('/etc/passwd')", "lo_import()"),
    ("SELECT lo_export(1, '/tmp/x')", "lo_export()"),
    ("SELECT dblink_exec('host=x', 'DROP TABLE t')", "dblink_exec() connects"),
    ("SELECT * FROM public.dblink('x', 'y') AS t(a int)", "dblink() connects"),
    ("SELECT pg_terminate_backend(1)", "pg_terminate_backend() administers"),
    ("SELECT pg_cancel_backend(1)", "pg_cancel_backend()"),
    ("SELECT pg_reload_conf()", "pg_reload_conf()"),
    ("SELECT pg_rotate_logfile()", "pg_rotate_logfile()"),
    ("SELECT pg_promote()", "pg_promote()"),
    ("SELECT pg_switch_wal()", "pg_switch_wal()"),
    ("SELECT pg_create_physical_replication_slot('s')", "pg_create_physical_replication_slot"),
    ("SELECT pg_drop_replication_slot('s')", "replication slots"),
    ("SELECT pg_logical_emit_message(true, 'a', 'b')", "pg_logical_emit_message()"),
    ("SELECT pg_backup_start('x')", "pg_backup_start()"),
    ("SELECT pg_start_backup('x')", "pg_start_backup()"),
    ("SELECT set_config('role', 'postgres', false)", "set_config('role')"),
    ("SELECT pg_catalog.set_config('session_authorization', 'x', true)", "session_authorization"),
    ("SELECT set_config(name, 'x', false) FROM t", "computed setting name"),
    ("CREATE VIEW v AS SELECT pg_read_file('x') AS f", "pg_read_file()"),
    ("CREATE TABLE t (a text DEFAULT pg_catalog.pg_read_file('x'))", "pg_read_file()"),
    ("CREATE TABLE t (a int CHECK (pg_reload_conf()))", "pg_reload_conf()"),
    ("CREATE TRIGGER tr AFTER INSERT ON t EXECUTE FUNCTION dblink_exec()", "dblink_exec()"),
    ("CREATE CAST (text AS int) WITH FUNCTION public.lo_import(text)", "lo_import()"),
    ("CREATE AGGREGATE a(int) (sfunc = pg_read_file, stype = text)", "pg_read_file()"),
    ("CREATE RULE r AS ON INSERT TO t DO ALSO SELECT lo_export(1, 'x')", "lo_export()"),
    ("CREATE EXTENSION dblink", '"dblink" is not allowed'),
    ("CREATE EXTENSION postgres_fdw", '"postgres_fdw" is not allowed'),
    ("CREATE EXTENSION file_fdw", '"file_fdw"'),
    ("CREATE EXTENSION IF NOT EXISTS adminpack", '"adminpack"'),
    ("SELEC 1", "not valid SQL: syntax error"),
]


@pytest.mark.parametrize(("sql", "expected"), REFUSED, ids=[sql[:40] for sql, _ in REFUSED])
def test_refusals_point_at_the_statement_line(sql: str, expected: str) -> None:
    script = f"SET client_encoding = 'UTF8';\n\n-- the next one\n{sql};\nSELECT 1;\n"
    findings = scan(script)
    assert len(findings) >= 1, sql
    assert all((f.path, f.line) == ("data.sql", 4) for f in findings)
    assert any(expected in f.message for f in findings), [f.message for f in findings]
    assert all("\n" not in str(f) for f in findings)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT length(pg_read_file(''x''))'",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; ALTER SYSTEM SET a = 1 $$",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN length(pg_read_file('x'))",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT lo_import('x'); END",
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $$\n"
        "DECLARE x text := pg_read_file('/etc/passwd');\nBEGIN RETURN a; END $$",
        "CREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN a := lo_import('/etc/passwd'); RETURN a; END $$",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN NEW.x := pg_ls_dir('.'); RETURN NEW; END $$",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN IF pg_reload_conf() THEN RETURN 1; END IF; RETURN 0; END $$",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN PERFORM dblink_connect('x'); END $$",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN INSERT INTO t VALUES (lo_export(1, '/tmp/x')); END $$",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN CREATE ROLE evil SUPERUSER; END $$",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN EXECUTE 'ALTER SYSTEM SET work_mem = 1'; END $$",
        "CREATE FUNCTION f() RETURNS SETOF text LANGUAGE plpgsql AS $$\n"
        "DECLARE r record; BEGIN FOR r IN SELECT * FROM pg_ls_dir('/') LOOP\n"
        "RETURN NEXT r; END LOOP; END $$",
        "CREATE FUNCTION app.f(m app.mood) RETURNS app.mood LANGUAGE plpgsql AS $$\n"
        "DECLARE x app.mood; BEGIN PERFORM pg_read_file('x'); RETURN m; END $$",
        "DO $$ BEGIN PERFORM lo_import('/etc/passwd'); END $$",
        "DO $$ BEGIN EXECUTE 'CREATE ROLE x'; END $$",
        "DO $$ BEGIN PERFORM set_config('role', 'postgres', false); END $$",
    ],
)
def test_code_bodies_are_scanned(sql: str) -> None:
    assert scan_statement(sql), sql


def test_fine_code_bodies_pass() -> None:
    assert scan_statement(
        "CREATE FUNCTION app.f(m app.mood) RETURNS app.mood LANGUAGE plpgsql AS $$\n"
        "DECLARE x app.mood; BEGIN PERFORM set_config('search_path', 'app', true);\n"
        "RETURN m; END $$"
    ) == []
    assert scan_statement(
        "DO $$ DECLARE n int; BEGIN EXECUTE format('SELECT count(*) FROM %I', 't') INTO n;"
        " RAISE NOTICE 'n = %', n; END $$"
    ) == []


# --------------------------------------------------------------------------- psql commands

@pytest.mark.parametrize(
    "command",
    ["\\! id", "\\o /tmp/out", "\\copy t FROM '/etc/passwd'", "\\i /etc/passwd",
     "\\connect postgres", "\\c postgres", "\\set ON_ERROR_STOP 0", "\\."],
)
def test_meta_commands_are_refused(command: str) -> None:
    findings = scan(f"\\restrict k\nSELECT 1;\n\n  {command}\nSELECT 2;\n\\unrestrict k\n")
    assert [(f.line, f.message) for f in findings] == [
        (4, f"psql meta-command {command.split()[0]} is not allowed")
    ]


def test_backslash_command_inside_a_statement_is_refused() -> None:
    findings = scan("SELECT 1;\nCREATE TABLE t (\n\\! id\na int);\n")
    assert [(f.line, f.message) for f in findings] == [
        (2, "psql meta-command inside a statement (psql would run it)")
    ]
    assert scan_statement("SELECT 1 \\gexec") == [
        "psql meta-command inside a statement (psql would run it)"
    ]


# --------------------------------------------------------------------------- scripts

def test_every_finding_is_reported_with_its_own_line() -> None:
    script = "SELECT 1;\nCREATE ROLE a;\nSELECT 2;\nSELECT\n  lo_import('/x');\n\\! id\n"
    findings = scan(script, "schema.sql")
    assert [(f.path, f.line) for f in findings] == [
        ("schema.sql", 2),
        ("schema.sql", 4),
        ("schema.sql", 6),
    ]
    assert str(findings[1]) == (
        "schema.sql:4: function lo_import() reads or writes files on the server "
        "(SELECT lo_import('/x'))"
    )


def test_copy_data_is_not_scanned_as_sql() -> None:
    script = "COPY t (a) FROM stdin;\nCREATE ROLE evil;\n\\! id\n\\\\.\n\\.\nSELECT 1;\n"
    assert scan(script) == []


def test_unreadable_script_ends_with_a_finding() -> None:
    findings = scan("CREATE ROLE a;\nCOPY t FROM stdin;\n1\n")
    assert [(f.line, f.message) for f in findings] == [
        (1, "templates must not create, change or drop roles"),
        (2, "COPY data is not ended by a \\. line before the end of the file"),
    ]
    findings = scan(b"SELECT '\xff';\n")
    assert findings[0].line == 1 and "not valid UTF-8" in findings[0].message


def test_scan_streams_a_large_script() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"COPY t (a, b) FROM stdin;\n"
        yield b"1\tCREATE ROLE x; \\\\! id\n" * 200_000
        yield b"\\.\n"
        yield b"SELECT 1;\n" * 20_000
        yield b"SELECT pg_read_file('x');\n"

    findings = scan_script(io.BufferedReader(GeneratedStream(chunks())), "big.sql")
    assert [(f.line, f.message) for f in findings] == [
        (200_000 + 3 + 20_000, "function pg_read_file() reads or writes files on the server")
    ]


# --------------------------------------------------------------------------- fixture

# An excerpt of real `pg_dump --no-owner --no-privileges` (15.18) output of a database
# with extensions, a domain, enum and composite types, SQL, SQL-standard and PL/pgSQL
# functions, a procedure, an aggregate, an operator, partitions, a materialized view,
# a rule, a policy, row-level security, COPY data with escapes, and a large object.
REAL_DUMP = r'''--
-- PostgreSQL database dump
--

\restrict CrzaCwZLFZYSFZ68ugZJQln8n5xpScjCBdhKTsgmgLipV0WjnnvZWp6huN5XYJP

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA app;

--
-- Name: SCHEMA app; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON SCHEMA app IS 'Application schema; with ''quotes'' and é';

--
-- Name: ci; Type: COLLATION; Schema: app; Owner: -
--

CREATE COLLATION app.ci (provider = icu, deterministic = false, locale = 'und-u-ks-level2');

CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;

COMMENT ON EXTENSION citext IS 'data type for case-insensitive character strings';

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

COMMENT ON EXTENSION "uuid-ossp" IS 'generate universally unique identifiers (UUIDs)';

CREATE DOMAIN app.email AS public.citext
    CONSTRAINT email_check CHECK ((VALUE OPERATOR(public.~) '^[^@]+@[^@]+$'::public.citext));

CREATE TYPE app.mood AS ENUM (
    'sad',
    'ok',
    'happy'
);

CREATE TYPE app.pair AS (
    a integer,
    b text
);

CREATE CAST (app.pair AS text) WITH INOUT;

CREATE FUNCTION app.add(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$SELECT a + b$$;

CREATE FUNCTION app.add3(a integer, b integer, c integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC
 SELECT ((a + b) + c);
END;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE app.orders (
    id integer NOT NULL,
    user_id bigint,
    total numeric(10,2),
    note text,
    CONSTRAINT orders_total_check CHECK ((total >= (0)::numeric))
);

CREATE PROCEDURE app.bump(IN n integer)
    LANGUAGE sql
    BEGIN ATOMIC
 UPDATE app.orders SET total = (orders.total + (bump.n)::numeric);
 INSERT INTO app.orders (total)
   VALUES (bump.n);
END;

CREATE FUNCTION app.table_fn() RETURNS TABLE(x integer, y text)
    LANGUAGE plpgsql
    AS $$
BEGIN
  RETURN QUERY SELECT 1, 'a';
  x := 2; y := 'b'; RETURN NEXT;
END $$;

CREATE FUNCTION app.touch() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.created := now();  -- a comment; with semicolon
  IF NEW.name = '' THEN
    RAISE EXCEPTION 'empty name; %', NEW.id;
  END IF;
  RETURN NEW;
END;
$$;

CREATE FUNCTION app.user_count(m app.mood DEFAULT 'ok'::app.mood) RETURNS bigint
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
  n bigint;
  r record;
  u app.users.name%TYPE;
BEGIN
  SELECT count(*) INTO n FROM app.users WHERE mood = m;
  FOR r IN SELECT * FROM app.users LOOP
    u := r.name;
  END LOOP;
  EXECUTE format('SELECT count(*) FROM %I.%I', 'app', 'users') INTO n;
  RETURN n;
EXCEPTION WHEN others THEN
  RETURN -1;
END
$$;

CREATE AGGREGATE app.mysum(integer) (
    SFUNC = int4pl,
    STYPE = integer,
    INITCOND = '0'
);

CREATE OPERATOR app.=== (
    FUNCTION = int4eq,
    LEFTARG = integer,
    RIGHTARG = integer
);

CREATE TEXT SEARCH CONFIGURATION app.simple_cfg (
    PARSER = pg_catalog."default" );

ALTER TEXT SEARCH CONFIGURATION app.simple_cfg
    ADD MAPPING FOR asciiword WITH simple;

ALTER TEXT SEARCH CONFIGURATION app.simple_cfg
    ADD MAPPING FOR word WITH simple;

CREATE SEQUENCE app.counter
    START WITH 100
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE app.events (
    id integer,
    at date NOT NULL,
    payload text
)
PARTITION BY RANGE (at);

CREATE TABLE app.events_2024 (
    id integer,
    at date NOT NULL,
    payload text
);

CREATE TABLE app.events_2025 (
    id integer,
    at date NOT NULL,
    payload text
);

CREATE MATERIALIZED VIEW app.mv_orders AS
 SELECT orders.user_id,
    sum(orders.total) AS total
   FROM app.orders
  GROUP BY orders.user_id
  WITH NO DATA;

CREATE SEQUENCE app.orders_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE app.orders_id_seq OWNED BY app.orders.id;

CREATE UNLOGGED TABLE app.scratch (
    k text
);

CREATE TABLE app.users (
    id bigint NOT NULL,
    name text DEFAULT 'anonymous; really'::text NOT NULL,
    email app.email,
    mood app.mood DEFAULT 'ok'::app.mood,
    tags text[] DEFAULT '{}'::text[],
    doc jsonb,
    pic bytea,
    created timestamp with time zone DEFAULT now(),
    uid uuid DEFAULT public.uuid_generate_v4()
);

COMMENT ON TABLE app.users IS 'People; "quoted"';

COMMENT ON COLUMN app.users.name IS 'multi
line';

ALTER TABLE app.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME app.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE VIEW app.v_users AS
 SELECT users.id,
    upper(users.name) AS name,
    app.add(1, 2) AS three
   FROM app.users
  WHERE (users.mood <> 'sad'::app.mood);

CREATE TABLE public."Weird ""Name""" (
    "col;1" integer,
    "é" text
);

ALTER TABLE ONLY app.events ATTACH PARTITION app.events_2024
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

ALTER TABLE ONLY app.events ATTACH PARTITION app.events_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

ALTER TABLE ONLY app.orders ALTER COLUMN id SET DEFAULT nextval('app.orders_id_seq'::regclass);

SELECT pg_catalog.lo_create('16682');

--
-- Data for Name: events_2024; Type: TABLE DATA; Schema: app; Owner: -
--

COPY app.events_2024 (id, at, payload) FROM stdin;
1	2024-02-02	x
\.

--
-- Data for Name: events_2025; Type: TABLE DATA; Schema: app; Owner: -
--

COPY app.events_2025 (id, at, payload) FROM stdin;
2	2025-03-03	y
\.

--
-- Data for Name: orders; Type: TABLE DATA; Schema: app; Owner: -
--

COPY app.orders (id, user_id, total, note) FROM stdin;
1	1	9.99	\\.
2	2	0.00	\N
3	1	12.50	crlf\r\nx
\.

--
-- Data for Name: scratch; Type: TABLE DATA; Schema: app; Owner: -
--

COPY app.scratch (k) FROM stdin;
\.

--
-- Data for Name: users; Type: TABLE DATA; Schema: app; Owner: -
--

COPY app.users (id, name, email, mood, tags, doc, pic, created, uid) FROM stdin;
1	Zoë	zoe@example.com	happy	{a,"b c"}	{"k": "v; w", "n": [1, 2]}	\\x00ff5c2e	\N	\N
2	tab\there	x@y.z	sad	\N	\N	\N	\N	\N
3	back\\slash \\. dot	b@c.d	ok	{}	"\\\\."	\N	\N	\N
4	line\nbreak	l@b.c	ok	\N	\N	\N	\N	\N
\.

--
-- Data for Name: Weird "Name"; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public."Weird ""Name""" ("col;1", "é") FROM stdin;
1	ünïcødé
\.

SELECT pg_catalog.setval('app.counter', 142, true);

SELECT pg_catalog.setval('app.orders_id_seq', 3, true);

SELECT pg_catalog.setval('app.users_id_seq', 4, true);

--
-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -
--

BEGIN;

SELECT pg_catalog.lo_open('16682', 131072);
SELECT pg_catalog.lowrite(0, '\x68656c6c6f');
SELECT pg_catalog.lo_close(0);

COMMIT;

ALTER TABLE ONLY app.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

ALTER TABLE ONLY app.users
    ADD CONSTRAINT users_email_key UNIQUE (email);

ALTER TABLE ONLY app.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

CREATE INDEX users_name_trgm ON app.users USING gin (name public.gin_trgm_ops);

CREATE STATISTICS app.st ON id, user_id FROM app.orders;

CREATE RULE orders_log AS
    ON DELETE TO app.orders DO ( INSERT INTO app.events_2024 (id, at, payload)
  VALUES (old.id, '2024-05-05'::date, 'deleted'::text);

 NOTIFY orders;
);

CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON app.users
    FOR EACH ROW EXECUTE FUNCTION app.touch();

ALTER TABLE ONLY app.orders
    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES app.users(id)
    ON DELETE CASCADE;

ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY;

CREATE POLICY own_orders ON app.orders USING ((user_id > 0));

REFRESH MATERIALIZED VIEW app.mv_orders;

--
-- PostgreSQL database dump complete
--

\unrestrict CrzaCwZLFZYSFZ68ugZJQln8n5xpScjCBdhKTsgmgLipV0WjnnvZWp6huN5XYJP
'''
