"""Save a rich PostgreSQL database as a template and restore it: nothing may be lost."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import psycopg
import pytest

from dbplay_desktop.engines.base import RestoreError, UnsafeContent
from dbplay_desktop.engines.postgres.engine import find_pg_dump
from dbplay_desktop.templates.container import TemplateReader, TemplateWriter

RICH_SQL = (Path(__file__).parent / "rich_database.sql").read_text(encoding="utf-8")


def load(engine, database: str, text: str) -> None:
    with engine.connect(database) as session:
        for result in session.execute(text):
            if result.returns_rows:
                result.fetch_all()
            assert result.error is None, f"{result.statement.text[:60]}: {result.error}"


def save(engine, database: str, path: Path) -> None:
    with TemplateWriter(path, engine="postgresql", name=database) as writer:
        info = engine.dump(database, writer)
        writer.commit(info.engine_version, info.stats)


def pg_dump_text(admin_uri: str, database: str, *extra: str) -> str:
    """pg_dump's view of a database, without owners, grants and the per-run restrict key."""
    info = psycopg.conninfo.conninfo_to_dict(admin_uri)
    with psycopg.connect(admin_uri) as conn:
        major = conn.info.server_version // 10000
    env = dict(os.environ, PGPASSWORD=str(info.pop("password", "")))
    info["dbname"] = database
    out = subprocess.run(
        [
            str(find_pg_dump(major)),
            "--no-owner",
            "--no-privileges",
            *extra,
            "--dbname",
            psycopg.conninfo.make_conninfo(**info),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return "\n".join(
        line for line in out.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
    )


def database_exists(admin_uri: str, name: str) -> bool:
    with psycopg.connect(admin_uri) as conn:
        return (
            conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            is not None
        )


@pytest.fixture(scope="module")
def rich_template(pg_engine, tmp_path_factory):
    source = pg_engine.create_sandbox()
    load(pg_engine, source, RICH_SQL)
    path = tmp_path_factory.mktemp("tpl") / "rich.dbtpl"
    save(pg_engine, source, path)
    yield source, path
    pg_engine.drop_sandbox(source)


def test_round_trip_keeps_schema_and_data(pg_engine, pg_admin_uri, rich_template):
    source, path = rich_template
    with TemplateReader(path) as reader:
        assert reader.manifest.engine == "postgresql"
        assert reader.manifest.stats["tables"] >= 6
        assert reader.manifest.stats["rows"] == 5 + 2 + 2 + 1 + 2 + 1
        copy = pg_engine.restore(reader)
    try:
        assert pg_dump_text(pg_admin_uri, copy, "--schema-only") == pg_dump_text(
            pg_admin_uri, source, "--schema-only"
        )
        assert pg_dump_text(pg_admin_uri, copy) == pg_dump_text(pg_admin_uri, source)
        with pg_engine.connect(copy) as session:
            result = next(
                session.execute(
                    "select name from customers where email = 'ANN@example.com' "
                    "union all select name from customers order by 1"
                )
            )
            names = [row[0] for row in result.fetch_all()]
            assert "Ann" in names and "\\N" in names and "line1\nline2\\back\\slash" in names
            seq = next(session.execute("select last_value from invoice_no")).fetch_all()
            assert seq == [(1021,)]  # two nextval() calls + two orders
            after = next(
                session.execute("insert into orders (customer_id) values (3) returning id")
            )
            assert after.fetch_all() == [(52,)]
    finally:
        pg_engine.drop_sandbox(copy)


def test_template_carries_no_owners_grants_or_credentials(pg_admin_uri, rich_template):
    _, path = rich_template
    with zipfile.ZipFile(path) as archive:
        text = "\n".join(archive.read(name).decode() for name in archive.namelist())
    password = psycopg.conninfo.conninfo_to_dict(pg_admin_uri)["password"]
    assert "OWNER TO" not in text and "GRANT " not in text and "dbplay_sbx_" not in text
    assert password not in text and "127.0.0.1" not in text


def test_restore_into_named_database_and_refuse_non_empty(pg_engine, pg_admin_uri, rich_template):
    _, path = rich_template
    with TemplateReader(path) as reader:
        name = pg_engine.restore(reader, "restored_by_name")
    try:
        assert name == "restored_by_name"
        with TemplateReader(path) as reader, pytest.raises(RestoreError, match="not empty"):
            pg_engine.restore(reader, "restored_by_name")
    finally:
        pg_engine.drop_sandbox(name)


def write_payload(path: Path, sql: str) -> None:
    with TemplateWriter(path, engine="postgresql", name="crafted") as writer:
        with writer.open("dump.sql") as out:
            out.write(sql.encode())
        writer.commit("15", {})


def test_failed_restore_leaves_no_database(pg_engine, pg_admin_uri, tmp_path):
    path = tmp_path / "broken.dbtpl"
    write_payload(
        path,
        "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\nINSERT INTO missing VALUES (2);\n",
    )
    with TemplateReader(path) as reader, pytest.raises(RestoreError) as info:
        pg_engine.restore(reader, "half_made")
    assert "dump.sql:3" in str(info.value) and "missing" in str(info.value)
    assert not database_exists(pg_admin_uri, "half_made")


def test_unsafe_template_is_refused_before_anything_runs(pg_engine, pg_admin_uri, tmp_path):
    target = Path("/tmp") / f"dbplay-should-not-exist-{os.getpid()}"
    path = tmp_path / "evil.dbtpl"
    write_payload(path, f"CREATE TABLE ok (x int);\nCOPY (SELECT 1) TO PROGRAM 'touch {target}';\n")
    with TemplateReader(path) as reader, pytest.raises(UnsafeContent) as info:
        pg_engine.restore(reader, "evil_target")
    assert "dump.sql:2" in str(info.value)
    assert not target.exists()
    assert not database_exists(pg_admin_uri, "evil_target")


def test_sandbox_role_is_the_second_wall(pg_engine, pg_admin_uri, tmp_path):
    """Even past the scan (here: hidden in dynamic SQL), the role cannot touch the server."""
    target = Path("/tmp") / f"dbplay-dynamic-{os.getpid()}"
    path = tmp_path / "sneaky.dbtpl"
    write_payload(
        path,
        "DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO ' || quote_literal('"
        + str(target)
        + "'); END $$;\n",
    )
    with TemplateReader(path) as reader, pytest.raises(RestoreError):
        pg_engine.restore(reader, "sneaky_target")
    assert not target.exists()
    assert not database_exists(pg_admin_uri, "sneaky_target")


def test_large_objects_round_trip_in_one_transaction(pg_engine, pg_admin_uri, tmp_path):
    """pg_dump wraps large objects in BEGIN/COMMIT; the restore stays one transaction."""
    source = pg_engine.create_sandbox()
    try:
        load(
            pg_engine,
            source,
            "create table docs (id int, blob oid);"
            "insert into docs values (1, lo_from_bytea(0, 'hello large object'))",
        )
        path = tmp_path / "lo.dbtpl"
        save(pg_engine, source, path)
        with TemplateReader(path) as reader:
            copy = pg_engine.restore(reader)
        try:
            with pg_engine.connect(copy) as session:
                result = next(
                    session.execute("select convert_from(lo_get(blob), 'UTF8') from docs")
                )
                assert result.fetch_all() == [("hello large object",)]
        finally:
            pg_engine.drop_sandbox(copy)
    finally:
        pg_engine.drop_sandbox(source)


def test_rollback_in_a_payload_is_refused(pg_engine, pg_admin_uri, tmp_path):
    path = tmp_path / "rollback.dbtpl"
    write_payload(path, "CREATE TABLE a (x int);\nROLLBACK;\nCREATE TABLE b (y int);\n")
    with TemplateReader(path) as reader, pytest.raises(UnsafeContent, match=r"dump\.sql:2"):
        pg_engine.restore(reader, "rolled_back")
    assert not database_exists(pg_admin_uri, "rolled_back")


def test_admin_connections_ignore_libraries_and_search_path_of_a_sandbox(
    pg_engine, pg_admin_uri, tmp_path
):
    """Per-database settings (which a sandbox's own role cannot set, but an older dbplay's
    sandbox could) must not steer the admin's dump."""
    source = pg_engine.create_sandbox()
    try:
        load(pg_engine, source, "create table t (x int); insert into t values (1);")
        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            conn.execute(f"alter database {source} set local_preload_libraries = 'no_such_plugin'")
            conn.execute(f"alter database {source} set search_path = public, pg_catalog")
        path = tmp_path / "hardened.dbtpl"
        save(pg_engine, source, path)  # would fail loading $libdir/plugins/no_such_plugin
        with TemplateReader(path) as reader:
            assert reader.manifest.stats["rows"] == 1
    finally:
        pg_engine.drop_sandbox(source)


def test_cancelling_a_restore_stops_a_long_statement(pg_engine, pg_admin_uri, tmp_path):
    """A template that sleeps (or loads for minutes) can still be cancelled within seconds."""
    import time

    path = tmp_path / "slow.dbtpl"
    write_payload(path, "CREATE TABLE a (x int);\nSELECT pg_sleep(60);\n")
    started = time.monotonic()

    def cancel_after_a_second(done, total):
        return time.monotonic() - started > 1.0

    with TemplateReader(path) as reader, pytest.raises(RestoreError, match="cancelled"):
        pg_engine.restore(reader, "slow_target", progress=cancel_after_a_second)
    assert not database_exists(pg_admin_uri, "slow_target")
