"""A table's rows as ``INSERT ... VALUES`` statements that restore every cell exactly.

SQLite writes the text itself where it can: each row's ``(...)`` and, for a batch of rows
in rowid order, the whole ``VALUES`` list (``group_concat``), so a dump of plain rows
costs about what ``sqlite3``'s own ``iterdump`` query costs, without a Python call per row
or per cell. A row SQLite cannot write exactly (a float whose ``quote()`` does not read
back as that float, text with NUL or not UTF-8, a very long cell) is read again by its
rowid and written by :func:`literal` in Python, as are tables without a rowid. While
SQLite builds a batch its longest string is capped (:data:`BATCH_LIMIT`), so a batch of
unexpectedly long rows fails fast and is written row by row instead of filling memory.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from typing import Any

from dbplay_desktop.engines.sqlite.catalog import TableInfo, quote

#: An INSERT carries at most this many rows, or about this many bytes.
BATCH_ROWS = 200
BATCH_BYTES = 256 * 1024
#: The longest string SQLite may build while it writes a whole batch (bytes).
BATCH_LIMIT = 8 * BATCH_BYTES
_SMALLEST_ROWID = -(2**63)
_LARGEST_ROWID = 2**63 - 1


class RawText(bytes):
    """Text stored in the file that is not valid UTF-8: kept as its bytes."""


def text_factory(data: bytes) -> Any:
    """The dump connection's text factory: ``str``, or :class:`RawText` when not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return RawText(data)


def literal(value: Any) -> str:
    """An SQL literal that SQLite reads back as exactly ``value`` (same storage class)."""
    if value is None:
        return "NULL"
    if isinstance(value, RawText):
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


def _fix_floats(conn: sqlite3.Connection, cells: list[Any],
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


def _cell_sql(name: str, most: int | None) -> str:
    """SQL that writes the cell ``name`` as :func:`literal` would, or NULL where Python must.

    SQLite formats integers, blobs, NULL and text without NUL itself; a float only when its
    ``quote()`` reads back as exactly that float (never a zero, whose sign would be lost).
    With ``most``, blobs and text over that many bytes of literal go to Python too, so a
    row's text stays far below SQLite's longest string.
    """
    q = quote(name)
    long_text = f" OR length({q}) > {most // 8}" if most is not None else ""
    long_blob = f"length({q}) <= {most // 2}" if most is not None else "1"
    return (
        f"CASE typeof({q}) WHEN 'text' THEN CASE WHEN instr({q}, char(0)){long_text}"
        f" THEN NULL ELSE quote({q}) END"
        f" WHEN 'integer' THEN CAST({q} AS TEXT)"
        f" WHEN 'null' THEN 'NULL'"
        f" WHEN 'real' THEN CASE WHEN {q} <> 0 AND CAST(quote({q}) AS REAL) = {q}"
        f" THEN quote({q}) END"
        f" WHEN 'blob' THEN CASE WHEN {long_blob} THEN 'X''' || lower(hex({q})) || '''' END END"
    )


class _Batches:
    """Statements for one table, and the Python way for rows SQLite cannot write."""

    def __init__(self, conn: sqlite3.Connection, table: TableInfo, names: list[str],
                 rowid: str | None) -> None:
        self.conn = conn
        self.head = (f"INSERT INTO {quote(table.name)}({', '.join(quote(n) for n in names)})"
                     " VALUES\n")
        self.source = f"main.{quote(table.name)}"
        self.select = ", ".join(quote(n) if n != rowid else rowid for n in names)

    def statements(self, found: Iterator[tuple[Any, ...]], again: str | None
                   ) -> Iterator[tuple[str, int]]:
        """Statements of rows ``(text or None, key, *raw cells)``; ``again`` reads one row."""
        rows: list[Any] = []
        floats: list[tuple[int, int, float]] = []
        size = 0
        for row in found:
            written = row[0]
            if written is not None and not isinstance(written, RawText):
                rows.append(written)
                size += len(written)
            else:
                raw = row[2:] if again is None else \
                    self.conn.execute(again, (row[1],)).fetchone()
                texts = [literal(v) for v in raw]
                for col, value in enumerate(raw):
                    if isinstance(value, float) and math.isfinite(value):
                        floats.append((len(rows), col, value))
                rows.append(texts)
                size += sum(len(t) for t in texts)
            if len(rows) >= BATCH_ROWS or size >= BATCH_BYTES:
                yield self._statement(rows, floats), len(rows)
                rows, floats, size = [], [], 0
        if rows:
            yield self._statement(rows, floats), len(rows)

    def _statement(self, rows: list[Any], floats: list[tuple[int, int, float]]) -> str:
        if floats:
            _fix_floats(self.conn, rows, floats)
        return self.head + ",\n".join(
            row if isinstance(row, str) else "(" + ", ".join(row) + ")" for row in rows
        ) + ";\n"


def inserts(conn: sqlite3.Connection, table: TableInfo) -> Iterator[tuple[str, int]]:
    """``INSERT`` statements of at most :data:`BATCH_ROWS` rows, with their row counts."""
    columns = table.stored_columns
    rowid = table.rowid_name()
    names = ([rowid] if rowid else []) + columns
    if not names:
        return
    batches = _Batches(conn, table, names, rowid)
    key = _row_key(table)
    if key is None:
        order = f" ORDER BY {rowid}" if rowid else ""
        found = conn.execute(f"SELECT NULL, NULL, {batches.select} FROM {batches.source}{order}")
        yield from batches.statements(found, None)
        return

    def rows_sql(most: int | None) -> str:
        cells = " || ', ' || ".join(_cell_sql(n, most) if n != rowid else rowid for n in names)
        return (f"SELECT '(' || {cells} || ')' AS lit, {key} AS k FROM {batches.source}"
                f" WHERE {key} >= ? ORDER BY {key} LIMIT ?")

    # A batch's own string is capped while SQLite builds it; single rows only by their cells.
    batch_sql = (f"SELECT group_concat(lit, ',\n'), count(*), count(lit), max(k)"
                 f" FROM ({rows_sql(None)})")
    one_by_one = rows_sql(conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) // (5 * len(names)))
    again = f"SELECT {batches.select} FROM {batches.source} WHERE {key} = ?"
    first, count = _SMALLEST_ROWID, BATCH_ROWS
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    while True:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, min(limit, BATCH_LIMIT))
        try:
            text, got, written, last = conn.execute(batch_sql, (first, count)).fetchone()
        except sqlite3.DataError:  # longer than a batch may be: these rows one by one
            text, got, written, last = None, -1, -1, first
        finally:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
        if got == 0:
            return  # no rows left
        if text is not None and got == written and not isinstance(text, RawText):
            yield batches.head + text + ";\n", got
            size = len(text)
        else:
            seen = [0, first, 0]  # rows, last key, bytes

            def counted(cursor: sqlite3.Cursor, seen: list[int] = seen
                        ) -> Iterator[tuple[Any, ...]]:
                for row in cursor:
                    seen[0], seen[1] = seen[0] + 1, row[1]
                    yield row

            for statement, rows in batches.statements(
                counted(conn.execute(one_by_one, (first, count))), again
            ):
                seen[2] += len(statement)
                yield statement, rows
            got, last, size = seen
            if not got:
                return
        if got < count or last == _LARGEST_ROWID:
            return
        first = last + 1
        count = max(1, min(BATCH_ROWS, BATCH_BYTES * got // max(1, size)))
