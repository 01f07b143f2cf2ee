"""Cloning an SQLite sandbox (a playground's fast reset): a private copy of the file."""

from __future__ import annotations

import stat

import pytest

from dbplay_desktop.engines.base import EngineError


def run(engine, database: str, text: str) -> list[tuple]:
    fetched: list[tuple] = []
    with engine.connect(database) as session:
        for result in session.execute(text):
            if result.error is not None:
                raise result.error
            fetched = result.fetch_all()
    return fetched


def test_a_clone_is_a_private_copy_and_drops_like_any_sandbox(engine, data_dir):
    assert engine.clones_sandboxes
    pristine = engine.create_sandbox()
    run(engine, pristine, "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)")
    clone = engine.clone_sandbox(pristine)
    path = engine.path_of(clone)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run(engine, clone, "SELECT count(*) FROM t") == [(2,)]
    run(engine, clone, "DELETE FROM t")
    assert run(engine, pristine, "SELECT count(*) FROM t") == [(2,)]
    assert sorted(engine.list_databases()) == sorted([pristine, clone])
    engine.drop_sandbox(clone)
    engine.drop_sandbox(pristine)
    assert list((data_dir / "sqlite").iterdir()) == []


def test_only_sandboxes_are_cloned(engine, tmp_path, data_dir):
    mine = tmp_path / "mine.db"
    mine.write_bytes(b"")
    with pytest.raises(EngineError, match="not a dbplay sandbox"):
        engine.clone_sandbox(str(mine))
    assert engine.list_databases() == []
