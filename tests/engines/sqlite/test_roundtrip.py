"""Dump -> scan -> restore reproduces an SQLite file exactly, through the real container."""

from __future__ import annotations

import sqlite3
import stat
import zipfile

import pytest

from dbplay_desktop.engines.base import RestoreError
from dbplay_desktop.templates.container import TemplateReader, TemplateWriter
from dbplay_desktop.templates.operations import (
    restore_template,
    save_template,
    template_info,
    verify_template,
)

from .conftest import snapshot


def _save(engine, source, out):
    with TemplateWriter(out, engine="sqlite", name="rich", description="") as writer:
        info = engine.dump(str(source), writer)
        return writer.commit(info.engine_version, info.stats)


def test_dump_scan_restore_reproduces_the_file(engine, rich_db, tmp_path):
    before = snapshot(rich_db)
    manifest = _save(engine, rich_db, tmp_path / "rich.dbtpl")
    assert manifest.stats == {"tables": 6, "views": 1, "indexes": 2, "triggers": 1, "rows": 17}
    assert [entry.path for entry in manifest.files] == ["dump.sql"]
    with TemplateReader(tmp_path / "rich.dbtpl") as reader:
        assert engine.scan(reader) == []
        assert type(engine).scan_payload(reader) == []
        target = tmp_path / "copy.db"
        assert engine.restore(reader, str(target)) == str(target)
    after = snapshot(target)
    assert after == before
    # nothing fired while rows were restored: the log holds the source's two rows only
    assert len(after["log"]) == 3
    # the counter continues where it was, not at the highest surviving id
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT seq FROM sqlite_sequence").fetchone() == (4,)
    table = '"odd ""name"""'
    conn.execute(f"INSERT INTO {table}(name) VALUES ('next')")
    assert conn.execute(f"SELECT max(id) FROM {table}").fetchone() == (5,)
    conn.close()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == [
        "copy.db", "rich.db", "rich.dbtpl"
    ]


def test_payload_is_readable_sql_in_a_restorable_order(engine, rich_db, tmp_path):
    _save(engine, rich_db, tmp_path / "rich.dbtpl")
    text = zipfile.ZipFile(tmp_path / "rich.dbtpl").read("dump.sql").decode()
    order = [text.index(s) for s in ("CREATE TABLE kv", 'INSERT INTO "kv"',
                                     "DELETE FROM sqlite_sequence", "CREATE INDEX",
                                     "CREATE VIEW", "CREATE TRIGGER", "PRAGMA user_version")]
    assert order == sorted(order)
    assert "X'00ff10'" in text and "CAST(X'" in text and "WITHOUT ROWID" in text


def test_restore_into_a_new_sandbox_and_a_named_one(engine, rich_db, tmp_path, data_dir):
    _save(engine, rich_db, tmp_path / "rich.dbtpl")
    with TemplateReader(tmp_path / "rich.dbtpl") as reader:
        name = engine.restore(reader)
        named = engine.create_sandbox("course")
        assert engine.restore(reader, named) == "course"
        with pytest.raises(RestoreError, match="not empty"):
            engine.restore(reader, named)
    assert snapshot(engine.path_of(name)) == snapshot(rich_db)
    assert sorted(engine.list_databases()) == sorted([name, "course"])
    engine.drop_sandbox(name)
    engine.drop_sandbox("course")
    assert engine.list_databases() == []
    assert list((data_dir / "sqlite").iterdir()) == []


def test_restore_refuses_an_existing_file_that_is_not_empty(engine, rich_db, tmp_path):
    _save(engine, rich_db, tmp_path / "rich.dbtpl")
    victim = tmp_path / "mine.db"
    victim.write_bytes(b"my data")
    with TemplateReader(tmp_path / "rich.dbtpl") as reader, \
            pytest.raises(RestoreError, match="not empty"):
        engine.restore(reader, str(victim))
    assert victim.read_bytes() == b"my data"
    empty = tmp_path / "empty.db"
    empty.touch()
    with TemplateReader(tmp_path / "rich.dbtpl") as reader:
        engine.restore(reader, str(empty))
    assert snapshot(empty) == snapshot(rich_db)


def test_progress_reports_bytes_and_cancel_leaves_nothing(engine, rich_db, tmp_path):
    _save(engine, rich_db, tmp_path / "rich.dbtpl")
    seen: list[tuple[int, int | None]] = []
    with TemplateReader(tmp_path / "rich.dbtpl") as reader:
        engine.restore(reader, str(tmp_path / "a.db"), lambda d, t: seen.append((d, t)))
        total = reader.size("dump.sql")
        assert seen[-1] == (total, total)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        with pytest.raises(RestoreError, match="restore cancelled"):
            engine.restore(reader, str(tmp_path / "b.db"), lambda d, t: len(seen) > 0)
        with pytest.raises(RestoreError, match="restore cancelled"):
            engine.restore(reader, None, lambda d, t: True)
    assert not (tmp_path / "b.db").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert engine.list_databases() == []


def test_cli_operations_save_verify_info_restore(rich_db, tmp_path):
    from dbplay_desktop import cli

    out = tmp_path / "cli.dbtpl"
    assert cli.main(["template", "save", "--source", f"sqlite://{rich_db}",
                     "--out", str(out)]) in (0, None)
    assert cli.main(["template", "verify", str(out)]) in (0, None)
    assert cli.main(["template", "info", str(out), "--json"]) in (0, None)
    target = tmp_path / "from-cli.db"
    assert cli.main(["template", "restore", str(out), "--target",
                     f"sqlite://{target}"]) in (0, None)
    assert snapshot(target) == snapshot(rich_db)
    assert cli.main(["template", "restore", str(out), "--target",
                     f"sqlite://{target}"]) not in (0, None)


def test_operations_api(rich_db, tmp_path):
    out = tmp_path / "ops.dbtpl"
    manifest = save_template(f"sqlite://{rich_db}", out)
    assert manifest.engine == "sqlite" and manifest.name == rich_db.stem
    assert verify_template(out) == []
    info = template_info(out)
    assert info["engine_display_name"] == "SQLite" and info["stats"]["rows"] == 17
    target = tmp_path / "ops.db"
    assert restore_template(out, f"sqlite://{target}") == str(target)
    assert snapshot(target) == snapshot(rich_db)


def test_save_opens_the_users_file_read_only(engine, rich_db, tmp_path):
    rich_db.chmod(0o400)
    try:
        before = rich_db.read_bytes()
        _save(engine, rich_db, tmp_path / "ro.dbtpl")
        assert rich_db.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == [
            "rich.db", "ro.dbtpl"
        ]
    finally:
        rich_db.chmod(0o600)


def test_every_float_comes_back_bit_for_bit(engine, tmp_path):
    """SQLite misreads some decimal literals (mostly tiny ones); the dump writes those exactly."""
    import math
    import random
    import struct

    rng = random.Random(8)
    values = [5e-324, 2.2250738585072014e-308, -0.0, 0.1, 1e308, -4.72775748837432e-296]
    while len(values) < 3000:
        value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(value):
            values.append(value)
    source = tmp_path / "floats.db"
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE f (v REAL, w ANY)")
    conn.executemany("INSERT INTO f VALUES (?, ?)", [(v, -v) for v in values])
    conn.commit()
    conn.close()
    _save(engine, source, tmp_path / "floats.dbtpl")
    with TemplateReader(tmp_path / "floats.dbtpl") as reader:
        engine.restore(reader, str(tmp_path / "back.db"))

    def packed(path):
        rows = sqlite3.connect(path).execute("SELECT v, w FROM f ORDER BY rowid").fetchall()
        return [struct.pack("<dd", v, w) for v, w in rows]

    assert packed(tmp_path / "back.db") == packed(source)
    assert len(set(packed(source))) > 2900


def test_text_that_is_not_utf8_and_a_wal_file_round_trip(engine, tmp_path):
    source = tmp_path / "wal.db"
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (a TEXT)")
    conn.execute("INSERT INTO t VALUES (CAST(X'ff00fe41' AS TEXT)), ('ok')")
    conn.commit()
    try:
        _save(engine, source, tmp_path / "wal.dbtpl")  # while the writer still has it open
    finally:
        conn.close()
    with TemplateReader(tmp_path / "wal.dbtpl") as reader:
        engine.restore(reader, str(tmp_path / "back.db"))
    query = "SELECT hex(a), typeof(a) FROM t ORDER BY rowid"
    assert (sqlite3.connect(tmp_path / "back.db").execute(query).fetchall()
            == sqlite3.connect(source).execute(query).fetchall()
            == [("FF00FE41", "text"), ("6F6B", "text")])
