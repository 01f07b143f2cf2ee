"""Sandbox files: made private in the data directory, dropped idempotently, never a user's."""

from __future__ import annotations

import stat

import pytest

from dbplay_desktop.engines.base import EngineError, UnsupportedUri
from dbplay_desktop.engines.registry import engine_for_uri
from dbplay_desktop.engines.sqlite.engine import SqliteEngine


def test_create_makes_a_private_empty_file_and_drop_is_idempotent(engine, data_dir):
    name = engine.create_sandbox()
    path = engine.path_of(name)
    assert path.parent == data_dir / "sqlite"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == 0
    assert engine.list_databases() == [name]
    with engine.connect(name) as session:
        for result in session.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1)"):
            result.fetch_all()
    engine.drop_sandbox(name)
    engine.drop_sandbox(name)
    assert list(path.parent.iterdir()) == []
    assert engine.list_databases() == []


def test_drop_refuses_files_dbplay_did_not_make(engine, tmp_path, data_dir):
    mine = tmp_path / "mine.db"
    mine.write_bytes(b"data")
    with pytest.raises(EngineError, match="not a dbplay sandbox"):
        engine.drop_sandbox(str(mine))
    stranger = data_dir / "sqlite" / "stranger.db"
    stranger.parent.mkdir(parents=True)
    stranger.write_bytes(b"data")
    with pytest.raises(EngineError, match="not a dbplay sandbox"):
        engine.drop_sandbox("stranger")
    assert mine.exists() and stranger.exists()
    assert engine.list_databases() == []
    with pytest.raises(EngineError):
        engine.drop_sandbox("../mine")


def test_create_refuses_an_existing_name_and_a_path(engine):
    engine.create_sandbox("course")
    with pytest.raises(EngineError, match="already exists"):
        engine.create_sandbox("course")
    with pytest.raises(EngineError):
        engine.create_sandbox("/tmp/elsewhere")
    engine.drop_sandbox("course")


def test_uris(tmp_path):
    engine = engine_for_uri(f"sqlite://{tmp_path}/x.db")
    assert isinstance(engine, SqliteEngine)
    assert str(engine.path_of(None)) == f"{tmp_path}/x.db"
    # Four slashes (SQLAlchemy's spelling of an absolute path) name the same file.
    assert str(SqliteEngine(f"sqlite:///{tmp_path}/x.db").path_of(None)) == f"{tmp_path}/x.db"
    assert engine.server_version().startswith("SQLite 3.")
    for bad in ("sqlite://host/x.db", "sqlite:relative.db"):
        with pytest.raises(UnsupportedUri):
            SqliteEngine(bad)
    with pytest.raises(EngineError, match="names no file"):
        SqliteEngine("sqlite://").path_of(None)


def test_abandoned_playgrounds_are_dropped_but_not_open_or_named_ones(engine):
    abandoned = engine.create_sandbox()
    open_one = engine.create_sandbox()
    named = engine.create_sandbox("kept")
    with engine.connect(open_one):
        assert engine.drop_abandoned_playgrounds() == [abandoned]
    assert sorted(engine.list_databases()) == sorted([open_one, named])
    assert engine.drop_abandoned_playgrounds() == [open_one]
    assert engine.list_databases() == [named]
    engine.drop_sandbox(named)
