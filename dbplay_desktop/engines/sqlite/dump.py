"""Write an SQLite file as a template payload: one SQL script, ``dump.sql``.

Payload format (engine ``sqlite``, payload format ``sqlite-sql`` version 1)
--------------------------------------------------------------------------
One payload file, ``dump.sql``: UTF-8 SQL text in SQLite's dialect, statements ended by
``;``. dbplay writes, in this order:

1. ``CREATE TABLE`` statements, exactly as stored in ``sqlite_schema`` (so ``STRICT``,
   ``WITHOUT ROWID``, generated columns, ``AUTOINCREMENT``, constraints and quoted names
   come back as they were), in creation order;
2. each table's rows as ``INSERT INTO "t"("rowid", "a", ...) VALUES (...), (...);`` in
   batches: integers as literals; floats as a decimal SQLite reads back as exactly that
   float (SQLite's own ``quote()``, else the shortest decimal; ``9e999``/``-9e999`` for
   infinities), or, when SQLite would read that decimal back one bit off, as
   ``(CAST(<integer> AS REAL) * or / <power of two> ...)``, which is exact; text as
   ``'...'`` (``CAST(X'..' AS TEXT)`` when it holds NUL or is not UTF-8), blobs as
   ``X'..'``, ``NULL``. Generated columns are left out (SQLite computes them); the rowid of
   a rowid table without an ``INTEGER PRIMARY KEY`` is written as its own column, so rowids
   survive;
3. ``DELETE FROM sqlite_sequence;`` and one ``INSERT INTO sqlite_sequence`` per
   ``AUTOINCREMENT`` counter, so counters continue where they were;
4. ``CREATE INDEX``, then ``CREATE VIEW``, then ``CREATE TRIGGER`` statements as stored (no
   trigger exists while rows are restored, so restoring fires nothing);
5. ``PRAGMA user_version = N;`` and ``PRAGMA application_id = N;``.

A payload may contain (whoever wrote it): ``CREATE TABLE``/``INDEX``/``VIEW``/``TRIGGER``,
``INSERT``/``UPDATE``/``DELETE``/``REPLACE``/``SELECT``/``WITH``, ``ALTER TABLE``,
``DROP``, ``ANALYZE``, ``REINDEX``, ``PRAGMA`` of ``user_version``, ``application_id``,
``foreign_keys``, ``defer_foreign_keys``, ``recursive_triggers``, ``encoding`` and
``case_sensitive_like`` only (on ``main``), and ``BEGIN``/``COMMIT``/``END``, which are
skipped (a restore is one transaction; ``sqlite3 .dump`` output therefore works when it
has no virtual tables). Refused, with the file and line: ``ATTACH``, ``DETACH``,
``VACUUM`` (``VACUUM INTO``), every other pragma (``writable_schema`` ...), ``ROLLBACK``,
``SAVEPOINT``, ``RELEASE``, ``CREATE VIRTUAL TABLE``, writes to ``sqlite_schema``, and calls
of ``load_extension``, ``readfile``, ``writefile``, ``edit``, ``fts3_tokenizer``. Not
carried: virtual tables (a dump refuses them), ``sqlite_stat*`` (run ``ANALYZE``),
``page_size``, ``auto_vacuum``, journal mode; the encoding is always UTF-8.
"""

from __future__ import annotations

import sqlite3
from typing import IO, Any

from dbplay_desktop.engines.base import DumpError, DumpInfo, PayloadSink, ProgressCallback
from dbplay_desktop.engines.sqlite.catalog import schema_rows, stats, tables
from dbplay_desktop.engines.sqlite.rows import inserts, literal, text_factory

PAYLOAD_FILE = "dump.sql"
PAYLOAD_FORMAT = "sqlite-sql"
PAYLOAD_VERSION = 1
def open_read_only(path: str) -> sqlite3.Connection:
    """The file, read-only (never created, never written): ``file:...?mode=ro``."""
    from urllib.parse import quote as url_quote

    conn = sqlite3.connect(
        f"file:{url_quote(path)}?mode=ro", uri=True, isolation_level=None,
        check_same_thread=False,
    )
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA query_only = ON")
    return conn


def write_dump(
    path: str, sink: PayloadSink, progress: ProgressCallback | None = None
) -> DumpInfo:
    """Dump the file at ``path`` into ``sink`` as ``dump.sql``; one read transaction."""
    try:
        conn = open_read_only(path)
    except sqlite3.Error as exc:
        raise DumpError(f"cannot open {path}: {exc}") from exc
    try:
        conn.text_factory = text_factory
        conn.execute("BEGIN")
        counts = stats(conn)
        with sink.open(PAYLOAD_FILE) as out:
            counts["rows"] = _write(conn, out, progress)
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise DumpError(f"cannot read {path}: {exc}") from exc
    finally:
        conn.close()
    return DumpInfo(engine_version=sqlite3.sqlite_version, stats=counts)


def _write(conn: sqlite3.Connection, out: IO[bytes], progress: ProgressCallback | None) -> int:
    written = 0

    def emit(text: str) -> None:
        nonlocal written
        data = text.encode("utf-8")
        out.write(data)
        written += len(data)
        if progress is not None and progress(written, None):
            raise DumpError("save cancelled")

    emit(f"-- dbplay SQLite payload ({PAYLOAD_FORMAT} {PAYLOAD_VERSION}), "
         f"SQLite {sqlite3.sqlite_version}\n")
    rows = schema_rows(conn)
    for kind, name, _tbl, sql in rows:
        if kind == "table" and sql and sql.lstrip()[:20].upper().startswith("CREATE VIRTUAL"):
            raise DumpError(f"table {name!r} is a virtual table; dbplay cannot save those yet")
    infos = tables(conn)
    for table in infos:
        emit(table.sql + ";\n")
    total = 0
    for table in infos:
        for statement, count in inserts(conn, table):
            emit(statement)
            total += count
    sequences = _sequences(conn)
    if sequences is not None:
        emit("DELETE FROM sqlite_sequence;\n")
        for name, seq in sequences:
            emit(f"INSERT INTO sqlite_sequence(name, seq) VALUES ({literal(name)}, "
                 f"{literal(seq)});\n")
    for wanted in ("index", "view", "trigger"):
        for kind, _name, _tbl, sql in rows:
            if kind == wanted and sql:
                emit(sql + ";\n")
    user_version = conn.execute("PRAGMA main.user_version").fetchone()[0]
    application_id = conn.execute("PRAGMA main.application_id").fetchone()[0]
    emit(f"PRAGMA user_version = {int(user_version)};\n")
    emit(f"PRAGMA application_id = {int(application_id)};\n")
    return total


def _sequences(conn: sqlite3.Connection) -> list[tuple[Any, Any]] | None:
    exists = conn.execute(
        "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).fetchone()
    if not exists:
        return None
    return conn.execute("SELECT name, seq FROM main.sqlite_sequence ORDER BY rowid").fetchall()
