"""Helpers shared by several test modules.

The template-operation and command-line suites build small templates by hand, tamper
with them, and make throwaway databases on the test server; the script reader and the
safety scan both stream payloads larger than memory. One copy of that code keeps the
suites testing the same things.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

SAFE_SQL = b"CREATE TABLE t (id int PRIMARY KEY, note text);\nINSERT INTO t VALUES (1, 'a');\n"
UNSAFE_SQL = b"CREATE TABLE t (id int);\nCOPY (select 1) TO PROGRAM 'touch /tmp/x';\n"


def craft_template(
    path: Path, payload: bytes = SAFE_SQL, *, engine: str = "postgresql", name: str = "crafted"
) -> Path:
    """A template written by the real writer around a hand-made payload."""
    from dbplay_desktop.templates.container import TemplateWriter

    with TemplateWriter(path, engine=engine, name=name, description="made by a test") as writer:
        with writer.open("dump.sql") as out:
            out.write(payload)
        writer.commit("15.4", {"tables": 1})
    return path


def tamper(path: Path, new_payload: bytes) -> None:
    """Replace dump.sql inside the archive but keep the old manifest (hash now wrong)."""
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read("manifest.json")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("dump.sql", new_payload)


def with_database(uri: str, database: str) -> str:
    """``uri`` pointing at another database of the same server."""
    return urlsplit(uri)._replace(path="/" + database).geturl()


@contextmanager
def scratch_database(admin_uri: str, prefix: str, setup_sql: str) -> Iterator[str]:
    """A new database filled by ``setup_sql``; yields its URI and drops it afterwards."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    uri = with_database(admin_uri, name)
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(setup_sql)
    yield uri
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(admin_uri: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_uri) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def drop_sandbox(admin_uri: str, name: str) -> None:
    """Drop a sandbox database a test restored into (and its role)."""
    from dbplay_desktop.engines.postgres.engine import PostgresEngine

    PostgresEngine(admin_uri).drop_sandbox(name)


class GeneratedStream(io.RawIOBase):
    """A read-only stream whose bytes come from a generator: nothing is held in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


#: A statement that ignores cancel and terminate requests for several seconds (pg_trgm
#: builds the trigrams of two 96-million-character strings without looking at them;
#: about 10 s and 800 MB on PostgreSQL 18): longer than the 5 s DROP DATABASE ... WITH
#: (FORCE) waits for a terminated session. Needs ``CREATE EXTENSION pg_trgm``.
UNCANCELLABLE_SQL = (
    "SELECT similarity(repeat('abc def ghi ', 8000000), repeat('abd deg ghj ', 8000000))"
)
#: How long it has run when it has certainly stopped looking: building the two strings
#: at its start still honours a cancel (a reading of pg_stat_activity's query_start,
#: to wait for a state of the server, not to time anything).
UNCANCELLABLE_AFTER = timedelta(seconds=1)


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, to cross every boundary."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        want = self._step if size is None or size < 0 else min(self._step, size)
        chunk = self._data[self._pos:self._pos + want]
        self._pos += len(chunk)
        return chunk


def mongo_long_query(uri: str, max_seconds: float) -> str:
    """A mongosh command that runs far longer than any test waits, unless cancelled, and
    that the server itself ends after ``max_seconds`` at most.

    mongod interrupts a killed command, so one huge pipeline stage will do there.
    SecantusDB's killOp only closes the connection and lets the command run on; it checks
    ``maxTimeMS`` between pipeline stages, so there the work is a thousand stages of about
    a quarter of a second each. A single huge stage would burn a server core for days
    after the test and slow every later test that uses the server.
    """
    import pymongo

    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        secantus = "secantusVersion" in client.admin.command("buildInfo")
    limit = round(max_seconds * 1000)

    def sum_to(n: int) -> str:
        return (f'{{$reduce: {{input: {{$range: [0, {n}]}}, initialValue: 0, '
                f'in: {{$add: ["$$value", "$$this"]}}}}}}')

    if secantus:
        stages = ", ".join([f"{{$set: {{v: {sum_to(30000)}}}}}"] * 990)  # mongod allows 1000
    else:
        stages = ('{$densify: {field: "x", range: {step: 1, bounds: [0, 1000000]}}}, '
                  f'{{$project: {{v: {sum_to(1000000)}}}}}, '
                  '{$group: {_id: null, n: {$sum: "$v"}}}')
    return (f'db.runCommand({{aggregate: 1, pipeline: [{{$documents: [{{x: 0}}]}}, '
            f'{stages}], cursor: {{}}, maxTimeMS: {limit}}})')
