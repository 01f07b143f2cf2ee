"""Query history on a real SQLite file (no Qt)."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dbplay_desktop.history import QueryHistory


@pytest.fixture
def history(tmp_path: Path):
    with QueryHistory(tmp_path / "history.sqlite3") as h:
        yield h


def test_add_and_search_newest_first(history: QueryHistory) -> None:
    history.add("SELECT 1", connection="Embedded PostgreSQL", engine="postgresql",
                database="pg_1", elapsed_s=0.01, rows=1)
    history.add("select * FROM Orders", database="shop", elapsed_s=0.5, rows=20)
    failed = history.add(
        "SELEC oops", ok=False, error="syntax error at or near \"SELEC\"\nLINE 1: SELEC oops",
    )
    assert failed is not None
    assert failed.error == 'syntax error at or near "SELEC" LINE 1: SELEC oops'

    entries = history.search()
    assert [e.text for e in entries] == ["SELEC oops", "select * FROM Orders", "SELECT 1"]
    first = entries[-1]
    assert (first.connection, first.engine, first.database, first.rows, first.ok) == (
        "Embedded PostgreSQL", "postgresql", "pg_1", 1, True
    )
    assert not entries[0].ok and entries[0].rows == -1
    moment = datetime.fromisoformat(first.executed_at)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0


def test_search_is_case_insensitive_beyond_ascii(history: QueryHistory) -> None:
    history.add("SELECT * FROM ORDERS")
    history.add("SELECT 'STRASSE'")
    history.add("SELECT 'ÉTÉ'")
    assert [e.text for e in history.search("orders")] == ["SELECT * FROM ORDERS"]
    assert [e.text for e in history.search("straße")] == ["SELECT 'STRASSE'"]
    assert [e.text for e in history.search("été")] == ["SELECT 'ÉTÉ'"]
    assert history.search("100%_") == []


def test_search_by_connection_and_limit(history: QueryHistory) -> None:
    for n in range(5):
        history.add(f"SELECT {n}", connection="a" if n % 2 else "b")
    assert [e.text for e in history.search(connection="a")] == ["SELECT 3", "SELECT 1"]
    assert [e.text for e in history.search(limit=2)] == ["SELECT 4", "SELECT 3"]


def test_blank_text_is_not_recorded(history: QueryHistory) -> None:
    assert history.add("  \n ") is None
    assert len(history) == 0


def test_cap_keeps_the_newest(tmp_path: Path) -> None:
    with QueryHistory(tmp_path / "h.sqlite3", cap=3) as history:
        for n in range(10):
            history.add(f"SELECT {n}")
        assert [e.text for e in history.search()] == ["SELECT 9", "SELECT 8", "SELECT 7"]


def test_persists_and_clears(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with QueryHistory(path) as history:
        history.add("SELECT 1", connection="x")
        history.add("SELECT 2", connection="y", executed_at=datetime(2024, 5, 1, 12, 0,
                                                                     tzinfo=timezone.utc))
    with QueryHistory(path) as history:
        entries = history.search()
        assert [e.text for e in entries] == ["SELECT 2", "SELECT 1"]
        assert entries[0].executed_at == "2024-05-01T12:00:00.000+00:00"
        history.clear(connection="x")
        assert [e.text for e in history.search()] == ["SELECT 2"]
        history.clear()
        assert history.search() == []
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_threads_can_record_while_another_searches(history: QueryHistory) -> None:
    errors: list[BaseException] = []

    def record(tag: int) -> None:
        try:
            for n in range(50):
                history.add(f"SELECT {tag}, {n}", connection=str(tag))
                history.search("select", limit=10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(history) == 200


def test_damaged_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with QueryHistory(path) as history:
        history.add("SELECT 1")
        assert len(history) == 1
    assert (tmp_path / "history.sqlite3.damaged").exists()


def test_default_path_is_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    with QueryHistory() as history:
        assert history.path == tmp_path / "data" / "history.sqlite3"
        assert history.path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_history_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The queries a user ran are readable by that user only, whatever the umask."""
    import stat

    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "made" / "data"))
    old_umask = os.umask(0o022)
    try:
        with QueryHistory() as history:
            history.add("SELECT 'secret'")
    finally:
        os.umask(old_umask)
    for folder in (tmp_path / "made", tmp_path / "made" / "data"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # made by dbplay
    assert stat.S_IMODE(tmp_path.stat().st_mode) != 0  # not dbplay's: exists, untouched
    for file in (tmp_path / "made" / "data").iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
