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

import math
import sqlite3
from collections.abc import Iterator
from typing import IO, Any

from dbplay_desktop.engines.base import DumpError, DumpInfo, PayloadSink, ProgressCallback
from dbplay_desktop.engines.sqlite.catalog import TableInfo, quote, schema_rows, stats, tables

PAYLOAD_FILE = "dump.sql"
PAYLOAD_FORMAT = "sqlite-sql"
PAYLOAD_VERSION = 1
#: An INSERT carries at most this many rows, or about this many bytes.
BATCH_ROWS = 200
BATCH_BYTES = 256 * 1024


class _RawText(bytes):
    """Text stored in the file that is not valid UTF-8: kept as its bytes."""


def _text_factory(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _RawText(data)


def literal(value: Any) -> str:
    """An SQL literal that SQLite reads back as exactly ``value`` (same storage class)."""
    if value is None:
        return "NULL"
    if isinstance(value, _RawText):
        return f"CAST(X'{bytes(value).hex()}' AS TEXT)"
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "9e999" if value > 0 else "-9e999"
        if math.isnan(value):
            return "NULL"
        text = repr(value)
        return text if ("e" in text or "." in text) else text + ".0"
    text = str(value)
    if "\x00" in text:
        return f"CAST(X'{text.encode('utf-8').hex()}' AS TEXT)"
    return "'" + text.replace("'", "''") + "'"


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
        conn.text_factory = _text_factory
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
        for statement, count in _inserts(conn, table):
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


def exact_float(value: float) -> str:
    """An expression SQLite evaluates to exactly ``value``: an integer times a power of two.

    SQLite's decimal parser (3.40) is off by one unit in the last place for some values
    (most of them tiny), so a literal that does not come back exactly is written this way;
    scaling by powers of two is exact in binary floating point.
    """
    mantissa, exponent = math.frexp(value)
    whole, shift = int(mantissa * (1 << 53)), exponent - 53
    text = f"CAST({whole} AS REAL)"
    while shift > 0:
        step = min(shift, 62)
        text += f" * {1 << step}"
        shift -= step
    while shift < 0:
        step = min(-shift, 62)
        text += f" / {1 << step}"
        shift += step
    return f"({text})"


def _fix_floats(conn: sqlite3.Connection, cells: list[list[str]],
                floats: list[tuple[int, int, float]]) -> None:
    """Ask SQLite to read the batch's float literals; rewrite those it reads differently."""
    for first in range(0, len(floats), 500):
        part = floats[first : first + 500]
        got = conn.execute("SELECT " + ", ".join(cells[r][c] for r, c, _v in part)).fetchone()
        for (row, col, value), back in zip(part, got, strict=True):
            if back != value or math.copysign(1, back) != math.copysign(1, value):
                cells[row][col] = exact_float(value)


def _row_key(table: TableInfo) -> str | None:
    """A name that reaches the rowid of a rowid table (``None``: without rowid, or shadowed)."""
    if table.without_rowid:
        return None
    names = {name.lower() for name, *_ in table.columns}
    return next((n for n in ("rowid", "_rowid_", "oid") if n not in names), None)


def _cell_sql(name: str, most: int) -> str:
    """SQL that writes the cell ``name`` as :func:`literal` would, or NULL where Python must.

    SQLite formats integers, blobs, NULL and text without NUL itself; a float only when its
    ``quote()`` reads back as exactly that float (never a zero, whose sign would be lost).
    Blobs and text over ``most`` bytes of literal go to Python too, so a row's text stays
    far below SQLite's longest string.
    """
    q = quote(name)
    return (
        f"CASE typeof({q}) WHEN 'integer' THEN CAST({q} AS TEXT)"
        f" WHEN 'text' THEN CASE WHEN instr({q}, char(0)) OR length({q}) > {most // 8}"
        f" THEN NULL ELSE quote({q}) END"
        f" WHEN 'null' THEN 'NULL'"
        f" WHEN 'blob' THEN CASE WHEN length({q}) <= {most // 2}"
        f" THEN 'X''' || lower(hex({q})) || '''' END"
        f" WHEN 'real' THEN CASE WHEN {q} <> 0 AND CAST(quote({q}) AS REAL) = {q}"
        f" THEN quote({q}) END END"
    )


def _inserts(conn: sqlite3.Connection, table: TableInfo) -> Iterator[tuple[str, int]]:
    """``INSERT`` statements of at most :data:`BATCH_ROWS` rows, with their row counts.

    SQLite writes each row's ``(...)`` itself; a row it cannot write exactly (a float
    that needs :func:`exact_float`, text with NUL or not UTF-8) is read again by its rowid
    and written by :func:`literal`. Tables without a rowid are written by Python alone.
    """
    columns = table.stored_columns
    rowid = table.rowid_name()
    names = ([rowid] if rowid else []) + columns
    if not names:
        return
    select = ", ".join(quote(n) if n != rowid else rowid for n in names)
    order = f" ORDER BY {rowid}" if rowid else ""
    source = f"main.{quote(table.name)}"
    head = f"INSERT INTO {quote(table.name)}({', '.join(quote(n) for n in names)}) VALUES\n"
    key = _row_key(table)
    if key is None:
        cursor = conn.execute(f"SELECT NULL, {select} FROM {source}{order}")
    else:
        most = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) // (5 * len(names))
        cells = " || ', ' || ".join(_cell_sql(n, most) if n != rowid else rowid for n in names)
        cursor = conn.execute(f"SELECT '(' || {cells} || ')', {key} FROM {source}{order}")
        again = f"SELECT {select} FROM {source} WHERE {key} = ?"
    rows: list[str | list[str]] = []
    floats: list[tuple[int, int, float]] = []
    size = 0

    def flush() -> str:
        if floats:
            _fix_floats(conn, rows, floats)  # type: ignore[arg-type]
        return head + ",\n".join(
            row if isinstance(row, str) else "(" + ", ".join(row) + ")" for row in rows
        ) + ";\n"

    for found in cursor:
        written = found[0]
        if written is not None and not isinstance(written, _RawText):
            rows.append(written)
            size += len(written)
        else:
            raw = found[1:] if key is None else conn.execute(again, (found[1],)).fetchone()
            texts = [literal(v) for v in raw]
            for col, value in enumerate(raw):
                if isinstance(value, float) and math.isfinite(value):
                    floats.append((len(rows), col, value))
            rows.append(texts)
            size += sum(len(t) for t in texts)
        if len(rows) >= BATCH_ROWS or size >= BATCH_BYTES:
            yield flush(), len(rows)
            rows, floats, size = [], [], 0
    if rows:
        yield flush(), len(rows)
