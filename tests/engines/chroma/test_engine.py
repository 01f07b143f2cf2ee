"""ChromaEngine with embedded stores in tmp folders: addresses, sandboxes, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbplay_desktop.engines.base import ConnectionFailed, EngineError, RestoreError, UnsupportedUri

chromadb = pytest.importorskip("chromadb")

from dbplay_desktop.engines.chroma.engine import (  # noqa: E402
    MARK_SUFFIX,
    PLAYGROUND_MARK,
    SANDBOX_MARK,
    ChromaEngine,
    sandbox_dir,
)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_addresses(tmp_path: Path) -> None:
    local = ChromaEngine("chroma://")
    assert local.default_path is None and not local.http
    own = ChromaEngine(f"chroma://{tmp_path}/store")
    assert own.default_path == str(tmp_path / "store")
    server = ChromaEngine("chroma+https://db.example:9000/?tenant=t1&database=d1&token=s")
    assert (server.host, server.port, server.ssl, server.tenant, server.default_database) == \
        ("db.example", 9000, True, "t1", "d1")
    assert server.headers == {"Authorization": "Bearer s"}
    plain = ChromaEngine("chroma+http://localhost/")
    assert (plain.port, plain.tenant, plain.default_database) == (8000, "default_tenant", None)
    for bad in ("chroma:relative/dir", "chroma://host/dir", "postgresql://x/y"):
        with pytest.raises(UnsupportedUri):
            ChromaEngine(bad)


def test_server_version_is_chromadb_s() -> None:
    assert ChromaEngine("chroma://").server_version() == f"Chroma {chromadb.__version__}"


def test_sandboxes_are_marked_folders(data: Path) -> None:
    engine = ChromaEngine("chroma://")
    name = engine.create_sandbox()
    folder = sandbox_dir() / name
    assert folder.is_dir() and folder.parent == data / "chroma"
    assert (folder.parent / (name + MARK_SUFFIX)).read_text() == PLAYGROUND_MARK
    assert engine.database_address(name) == str(folder)
    assert engine.list_databases() == [name]
    with engine.connect(name) as session:
        for result in session.execute('create_collection("docs")'):
            assert result.error is None, result.error
    assert (folder / "chroma.sqlite3").is_file()
    named = engine.create_sandbox("restore_target")
    assert (folder.parent / ("restore_target" + MARK_SUFFIX)).read_text() == SANDBOX_MARK
    with pytest.raises(EngineError, match="already exists"):
        engine.create_sandbox("restore_target")
    with pytest.raises(EngineError):
        engine.create_sandbox("../escape")
    engine.drop_sandbox(name)
    engine.drop_sandbox(name)  # idempotent
    assert not folder.exists() and engine.list_databases() == [named]
    engine.drop_sandbox(named)
    assert engine.list_databases() == []


def test_a_sandbox_dropped_and_made_again_starts_empty(data: Path) -> None:
    engine = ChromaEngine("chroma://")
    name = engine.create_sandbox("again")
    with engine.connect(name) as session:
        list(session.execute('create_collection("docs")'))
    engine.drop_sandbox(name)
    engine.create_sandbox("again")
    with engine.connect(name) as session:
        ((result, rows),) = [(r, r.fetch_all()) for r in session.execute("count_collections()")]
        assert result.error is None and rows == [(0,)]
    engine.drop_sandbox(name)


def test_other_folders_are_never_dropped(data: Path, tmp_path: Path) -> None:
    engine = ChromaEngine("chroma://")
    own = tmp_path / "mine"
    own.mkdir()
    (own / "chroma.sqlite3").write_bytes(b"x")
    with pytest.raises(EngineError, match="not a dbplay sandbox"):
        engine.drop_sandbox(str(own))
    unmarked = data / "chroma" / "unmarked"
    unmarked.mkdir(parents=True)
    with pytest.raises(EngineError, match="not a dbplay sandbox"):
        engine.drop_sandbox("unmarked")
    assert own.exists() and unmarked.exists()
    assert engine.list_databases() == []


def test_a_users_own_store(tmp_path: Path, data: Path) -> None:
    store = tmp_path / "store"
    client = chromadb.PersistentClient(str(store))
    client.create_collection("notes").add(ids=["1"], embeddings=[[1.0, 2.0]])
    client.close()
    engine = ChromaEngine(f"chroma://{store}")
    assert engine.list_databases() == [str(store)]
    assert engine.database_address(str(store)) == str(store)
    with engine.connect() as session:
        ((result, rows),) = [(r, r.fetch_all()) for r in session.execute("notes.count()")]
        assert result.error is None and rows == [(1,)]
    with pytest.raises(ConnectionFailed, match="no Chroma folder"):
        engine.connect(str(tmp_path / "absent"))
    with pytest.raises(EngineError, match="names no folder"):
        ChromaEngine("chroma://").connect()


def test_abandoned_playgrounds_are_those_no_session_holds(data: Path) -> None:
    engine = ChromaEngine("chroma://")
    held = engine.create_sandbox()
    free = engine.create_sandbox()
    named = engine.create_sandbox("kept_by_name")
    session = engine.connect(held)
    try:
        assert engine.drop_abandoned_playgrounds() == [free]
        assert sorted(engine.list_databases()) == sorted([held, named])
    finally:
        session.close()
    assert engine.drop_abandoned_playgrounds() == [held]
    assert engine.list_databases() == [named]


def test_restore_refuses_a_folder_that_is_not_empty(tmp_path: Path, data: Path) -> None:
    from dbplay_desktop.engines.base import PayloadSource

    class Empty(PayloadSource):
        def paths(self) -> list[str]:
            return []

        def open(self, path: str):  # type: ignore[no-untyped-def]
            raise FileNotFoundError(path)

    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    with pytest.raises(RestoreError):
        ChromaEngine("chroma://").restore(Empty(), str(full))
    assert (full / "something").exists()


def test_model_dir_setting_points_the_default_model_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", ONNXMiniLM_L6_V2.DOWNLOAD_PATH)
    monkeypatch.setenv("DBPLAY_CHROMA_MODEL_DIR", str(tmp_path / "model"))
    ChromaEngine("chroma://")
    assert Path(ONNXMiniLM_L6_V2.DOWNLOAD_PATH) == tmp_path / "model"


def test_split_is_the_call_splitter() -> None:
    statements = ChromaEngine.split('count_collections()\n  docs.get(where={"a": "x;y"})')
    assert [(s.text, s.line, s.column) for s in statements] == [
        ("count_collections()", 1, 1), ('docs.get(where={"a": "x;y"})', 2, 3)]
