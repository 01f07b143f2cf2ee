"""What a template may cost the server and the user's machine: ceilings it cannot raise.

Time per statement (kept by dbplay even when the template turns the server's timeout
off), locks held at once, temporary files, the server log, and saves of a database whose
code is slow on purpose. All against the real test server.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from dbplay_desktop.engines.base import DumpError, RestoreError
from dbplay_desktop.engines.postgres.engine import PostgresEngine
from dbplay_desktop.servers.postgres import LOG_FILE
from dbplay_desktop.templates.container import TemplateReader, TemplateWriter
from tests.helpers import craft_template, database_exists, with_database


def restore(engine: PostgresEngine, path: Path) -> str:
    with TemplateReader(path) as reader:
        return engine.restore(reader)


def all_databases(admin_uri: str) -> set[str]:
    with psycopg.connect(admin_uri) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.parametrize(
    "payload",
    [
        b"SELECT pg_sleep(60);\n",
        b"SET statement_timeout = 0;\nSELECT pg_sleep(60);\n",
        b"DO $$BEGIN PERFORM set_config('statement_timeout', '0', false); "
        b"PERFORM pg_sleep(60); END$$;\n",
        b"CREATE FUNCTION nap() RETURNS void LANGUAGE sql SET statement_timeout = 0 "
        b"AS 'SELECT pg_sleep(60)';\nSELECT nap();\n",
    ],
)
def test_the_statement_timeout_holds_in_restores_whatever_the_template_sets(
    pg_admin_uri, tmp_path, payload
):
    engine = PostgresEngine(pg_admin_uri, statement_timeout=1.0)
    before = all_databases(pg_admin_uri)
    with pytest.raises(RestoreError, match=r"timeout|longer than 1 s"):
        restore(engine, craft_template(tmp_path / "slow.dbtpl", payload))
    assert all_databases(pg_admin_uri) == before


def test_a_restore_cannot_fill_the_lock_table(pg_engine, pg_admin_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("DBPLAY_RESTORE_MAX_LOCKS", "150")
    payload = (
        b"DO $$BEGIN FOR i IN 1..200 LOOP "
        b"EXECUTE format('CREATE TABLE t%s (x int PRIMARY KEY)', i); END LOOP; END$$;\n"
    )
    before = all_databases(pg_admin_uri)
    with pytest.raises(RestoreError, match="more than 150 locks"):
        restore(pg_engine, craft_template(tmp_path / "locks.dbtpl", payload))
    assert all_databases(pg_admin_uri) == before


def test_the_lock_ceiling_defaults_to_half_the_servers_table(pg_engine, tmp_path):
    payload = b"DO $$BEGIN FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE t%s ()', i); " \
        b"END LOOP; END$$;\n"
    database = restore(pg_engine, craft_template(tmp_path / "many.dbtpl", payload))
    pg_engine.drop_sandbox(database)


def test_temporary_files_are_limited(pg_admin_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("DBPLAY_TEMP_FILE_LIMIT", "1MB")
    engine = PostgresEngine(pg_admin_uri)
    payload = (
        b"SET work_mem = '64kB';\n"
        b"SELECT count(*) FROM (SELECT md5(g::text) m FROM generate_series(1, 300000) g "
        b"ORDER BY 1) s;\n"
    )
    with pytest.raises(RestoreError, match="temp_file_limit"):
        restore(engine, craft_template(tmp_path / "temp.dbtpl", payload))


def test_a_template_cannot_flood_the_server_log(pg_engine, pg_server, tmp_path):
    log = Path(pg_server.data_dir) / LOG_FILE
    size = log.stat().st_size
    payload = (
        b"DO $$BEGIN FOR i IN 1..20000 LOOP RAISE LOG 'spam %', repeat('x', 200); "
        b"RAISE WARNING 'spam %', i; END LOOP; END$$;\n"
        b"DO $$BEGIN FOR i IN 1..2000 LOOP BEGIN PERFORM 1/0; "
        b"EXCEPTION WHEN division_by_zero THEN NULL; END; END LOOP; END$$;\n"
        b"SELECT 1/0;\n"
    )
    with pytest.raises(RestoreError, match="division by zero"):
        restore(pg_engine, craft_template(tmp_path / "log.dbtpl", payload))
    assert log.stat().st_size - size < 20_000  # 20,000 lines of 200 bytes would be 4 MB


# --------------------------------------------------------------------------- saving

_SLOW_POLICY = """
CREATE TABLE t (x int);
INSERT INTO t SELECT generate_series(1, 200);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
ALTER TABLE t FORCE ROW LEVEL SECURITY;
CREATE POLICY slow ON t USING (pg_sleep(0.5) IS NOT NULL);
"""


def _load(engine: PostgresEngine, database: str, text: str) -> None:
    with engine.connect(database) as session:
        for result in session.execute(text):
            assert result.error is None, result.error


def test_saving_a_database_whose_policy_sleeps_can_be_cancelled(pg_engine, tmp_path):
    database = pg_engine.create_sandbox()
    try:
        _load(pg_engine, database, _SLOW_POLICY)
        asked = threading.Event()

        def cancel_soon(done: int, total: int | None) -> bool:
            if asked.is_set():
                return True
            asked.set()
            return False

        with (
            TemplateWriter(tmp_path / "s.dbtpl", engine="postgresql", name="s") as writer,
            pytest.raises(DumpError, match="cancelled"),
        ):
            pg_engine.dump(database, writer, progress=cancel_soon)
        assert not (tmp_path / "s.dbtpl").exists()
    finally:
        pg_engine.drop_sandbox(database)


def test_saving_a_database_whose_policy_sleeps_is_time_limited(
    pg_engine, tmp_path, monkeypatch
):
    from dbplay_desktop.engines.postgres import catalog as pg_catalog

    monkeypatch.setattr(pg_catalog, "COUNT_BUDGET", 1.0)
    database = pg_engine.create_sandbox()
    try:
        _load(pg_engine, database, _SLOW_POLICY)
        with TemplateWriter(tmp_path / "s.dbtpl", engine="postgresql", name="s") as writer:
            info = pg_engine.dump(database, writer)
            writer.commit(info.engine_version, info.stats)
        assert info.stats["tables"] == 1 and "rows" not in info.stats
        copy = restore(pg_engine, tmp_path / "s.dbtpl")
        pg_engine.drop_sandbox(copy)
    finally:
        pg_engine.drop_sandbox(database)


def test_a_save_waiting_for_a_lock_can_be_cancelled(pg_engine, pg_admin_uri, tmp_path):
    """A playground session holding a table lock must not make a save hang for good."""
    from dbplay_desktop.engines.postgres.dump import find_pg_dump, write_dump

    database = pg_engine.create_sandbox()
    try:
        _load(pg_engine, database, "CREATE TABLE t (x int)")
        with psycopg.connect(with_database(pg_admin_uri, database)) as holder:
            holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            info = pg_engine._info(database)
            pg_dump = find_pg_dump(holder.info.server_version // 10000, None)
            with (
                TemplateWriter(tmp_path / "l.dbtpl", engine="postgresql", name="l") as writer,
                pytest.raises(DumpError, match="cancelled"),
            ):
                write_dump(
                    pg_dump, info, writer, lambda done, total: time.monotonic() - started > 1.0
                )
            holder.rollback()
    finally:
        pg_engine.drop_sandbox(database)
    assert not database_exists(pg_admin_uri, database)


def test_a_template_cannot_take_the_machines_memory(pg_engine, pg_admin_uri, tmp_path):
    """``SET work_mem`` has no ceiling in PostgreSQL; the embedded server's processes have
    one (2 GB of address space each), so a huge in-memory sort fails instead."""
    payload = (
        b"SET work_mem = '16GB';\n"
        b"SELECT sum(length(s)) FROM (SELECT g, repeat('x', 400000000) AS s "
        b"FROM generate_series(1, 8) g ORDER BY g DESC) t;\n"
    )
    before = all_databases(pg_admin_uri)
    with pytest.raises(RestoreError, match="out of memory"):
        restore(pg_engine, craft_template(tmp_path / "memory.dbtpl", payload))
    assert all_databases(pg_admin_uri) == before
