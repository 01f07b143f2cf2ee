"""Rows SQLite writes into the dump and rows Python writes, mixed in one batch, come back
exactly; so do tables whose rowid is not reachable and names SQLite also reads as keywords."""

from __future__ import annotations

import sqlite3

from dbplay_desktop.templates.container import TemplateReader, TemplateWriter

#: Every cell as SQLite stores it: its storage class and its bytes.
CELLS = "SELECT {columns} FROM {table} ORDER BY {order}"


def _save_and_restore(engine, source, tmp_path):
    out = tmp_path / "t.dbtpl"
    with TemplateWriter(out, engine="sqlite", name="rows", description="") as writer:
        info = engine.dump(str(source), writer)
        writer.commit(info.engine_version, info.stats)
    back = tmp_path / "back.db"
    with TemplateReader(out) as reader:
        engine.restore(reader, str(back))
    with TemplateReader(out) as reader, reader.open("dump.sql") as payload:
        text = payload.read().decode("utf-8")
    return back, text


def _cells(path, table, names, order="rowid"):
    columns = ", ".join(f"typeof({n}), hex({n})" for n in names)
    conn = sqlite3.connect(path)
    try:
        return conn.execute(CELLS.format(columns=columns, table=table, order=order)).fetchall()
    finally:
        conn.close()


def test_rows_written_by_sqlite_and_by_python_mix_in_one_batch(engine, tmp_path):
    source = tmp_path / "mixed.db"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE m (a ANY, b ANY)")
    values = [
        (1, "plain"), (-7, "it's; here"), (None, b"\x00\xffblob"), (0.1, 2.5),
        (5e-324, -0.0), (0.0, 1e308), ("nul\x00inside", "é ü €"), (b"", ""),
        (2 ** 63 - 1, -(2 ** 63)), (float("inf"), float("-inf")), ("x" * 5000, "'" * 300),
    ]
    conn.executemany("INSERT INTO m VALUES (?, ?)", values * 30)
    conn.execute("INSERT INTO m VALUES (CAST(X'ff00fe41' AS TEXT), 'after')")
    conn.commit()
    conn.close()
    back, text = _save_and_restore(engine, source, tmp_path)
    assert _cells(back, "m", ["a", "b"]) == _cells(source, "m", ["a", "b"])
    assert _cells(back, "m", ["rowid"]) == _cells(source, "m", ["rowid"])
    assert "X'00ff626c6f62'" in text and "CAST(X'" in text and "'it''s; here'" in text


def test_tables_without_a_reachable_rowid_and_a_column_named_trigger(engine, tmp_path):
    source = tmp_path / "shadowed.db"
    conn = sqlite3.connect(source)
    conn.executescript("""
        CREATE TABLE s (rowid TEXT, _rowid_ REAL, oid BLOB, trigger INT);
        CREATE TABLE w (k TEXT PRIMARY KEY, v REAL) WITHOUT ROWID;
        CREATE TABLE trigger (end INT, temp TEXT);
    """)
    conn.executemany("INSERT INTO s VALUES (?, ?, ?, ?)",
                     [("a;b", 0.1, b"\x01", 1), (None, 5e-324, None, 2), ("nul\x00", -0.0, b"", 3)])
    conn.executemany("INSERT INTO w VALUES (?, ?)", [("k1", 1.5), ("k2", 5e-324), ("k;3", None)])
    conn.executemany("INSERT INTO trigger VALUES (?, ?)", [(1, "end;"), (2, "x")])
    conn.commit()
    conn.close()
    back, _text = _save_and_restore(engine, source, tmp_path)
    shadowed = ['"rowid"', '"_rowid_"', '"oid"', '"trigger"']
    by_trigger = '"trigger"'
    assert _cells(back, "s", shadowed, by_trigger) == _cells(source, "s", shadowed, by_trigger)
    assert _cells(back, "w", ["k", "v"], "k") == _cells(source, "w", ["k", "v"], "k")
    assert (_cells(back, '"trigger"', ['"end"', "temp"], '"end"')
            == _cells(source, '"trigger"', ['"end"', "temp"], '"end"'))


def test_long_rows_extreme_rowids_and_gaps_come_back(engine, tmp_path):
    """Batches longer than SQLite may build are written row by row; rowids at both ends."""
    source = tmp_path / "long.db"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE g (a TEXT, b BLOB)")
    rows = [(-(2 ** 63), "first", b"\x00"), (-5, "x" * 700_000, None), (0, "", b"")]
    rows += [(n * 1000, f"row {n}; 'q'", bytes([n % 256]) * (n % 7)) for n in range(1, 700)]
    rows += [(10 ** 9, "y" * 3_000_000, b"\x01" * 1_500_000), (2 ** 63 - 1, "last", None)]
    conn.executemany("INSERT INTO g(rowid, a, b) VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    back, _text = _save_and_restore(engine, source, tmp_path)
    assert _cells(back, "g", ["rowid", "a", "b"]) == _cells(source, "g", ["rowid", "a", "b"])
