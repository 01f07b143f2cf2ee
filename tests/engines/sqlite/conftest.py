"""Fixtures for the SQLite engine: a private data directory and a rich database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

RICH_SQL = '''
CREATE TABLE "odd ""name""" (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, data BLOB,
                             f REAL);
CREATE TABLE strict_t (a INTEGER NOT NULL, b TEXT, c ANY) STRICT;
CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE gen (a INT, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, c INT AS (a + 1) STORED);
CREATE TABLE holes (x);
CREATE TABLE log (msg TEXT);
CREATE INDEX strict_b ON strict_t (b);
CREATE UNIQUE INDEX gen_a ON gen (a);
CREATE VIEW strict_v AS SELECT a, b FROM strict_t WHERE a > 0;
CREATE TRIGGER strict_ins AFTER INSERT ON strict_t BEGIN
    INSERT INTO log VALUES ('fired; ' || new.a);
END;
INSERT INTO "odd ""name"""(name, data, f) VALUES
    ('héllo ☃ ''quoted'' 😀', x'00ff10', 1.5),
    (NULL, NULL, 1e308),
    ('nul' || char(0) || 'inside', x'', -2.5e-300),
    ('gone', NULL, NULL);
DELETE FROM "odd ""name""" WHERE name = 'gone';
INSERT INTO strict_t VALUES (1, 'one', 3.25), (2, NULL, x'01'), (-3, 'line
break', 'text');
INSERT INTO kv VALUES ('k1', 1), ('k2', 'two'), ('k3', NULL);
INSERT INTO gen (a) VALUES (5), (NULL), (7);
INSERT INTO holes VALUES (1), (2), (3);
DELETE FROM holes WHERE x = 2;
PRAGMA user_version = 42;
PRAGMA application_id = 1234567;
'''


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data directory (where sandbox files go)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def rich_db(tmp_path: Path) -> Path:
    """A user's file with every feature the payload must carry."""
    path = tmp_path / "rich.db"
    conn = sqlite3.connect(path)
    conn.executescript(RICH_SQL)
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def engine():
    from dbplay_desktop.engines.sqlite.engine import SqliteEngine

    return SqliteEngine("sqlite://")


def snapshot(path: Path) -> dict[str, object]:
    """Everything that must survive a round trip: schema, rows with rowids, counters."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out: dict[str, object] = {
        "schema": sorted(conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema"
        ).fetchall()),
        "user_version": conn.execute("PRAGMA user_version").fetchone(),
        "application_id": conn.execute("PRAGMA application_id").fetchone(),
        "tables": conn.execute("PRAGMA table_list").fetchall().__len__(),
    }
    for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"):
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            rows = conn.execute(f"SELECT rowid, * FROM {quoted} ORDER BY rowid")
        except sqlite3.OperationalError:  # WITHOUT ROWID
            rows = conn.execute(f"SELECT * FROM {quoted} ORDER BY 1")
        out[name] = [
            tuple((type(v).__name__, v) for v in row) for row in rows.fetchall()
        ]
    conn.close()
    return out
