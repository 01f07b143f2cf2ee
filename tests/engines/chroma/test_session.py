"""ChromaSession against real chromadb (embedded folders in tmp directories, no mocks)."""

from __future__ import annotations

import threading
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbplay_desktop.engines.base import (
    ColumnKind,
    ColumnRole,
    QueryCancelled,
    QueryError,
    ResultKind,
    StatementResult,
)
from dbplay_desktop.values import MISSING, Vector

pytest.importorskip("chromadb")

from dbplay_desktop.engines.chroma.engine import ChromaEngine
from dbplay_desktop.engines.chroma.session import ChromaSession


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChromaEngine:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    return ChromaEngine("chroma://")


@pytest.fixture
def session(engine: ChromaEngine) -> Iterator[ChromaSession]:
    database = engine.create_sandbox()
    session = engine.connect(database)
    try:
        yield session
    finally:
        session.close()
        engine.drop_sandbox(database)


def run(session: ChromaSession, text: str) -> list[tuple[StatementResult, list[tuple[Any, ...]]]]:
    out = []
    for result in session.execute(text):
        rows = result.fetch_all() if result.error is None else []
        out.append((result, rows))
    return out


def ok(session: ChromaSession, text: str) -> list[tuple[StatementResult, list[tuple[Any, ...]]]]:
    results = run(session, text)
    for result, _rows in results:
        assert result.error is None, result.error
    return results


def one(session: ChromaSession, text: str) -> tuple[StatementResult, list[tuple[Any, ...]]]:
    (pair,) = ok(session, text)
    return pair


def names(result: StatementResult) -> list[str]:
    return [c.name for c in result.columns or []]


PETS = (
    'create_collection("pets")\n'
    'pets.add(ids=["a", "b", "c"], embeddings=[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],\n'
    '  documents=["alpha", "beta", "gamma"],\n'
    '  metadatas=[{"n": 1, "f": 1.5, "ok": True, "s": "x", "l": [1, 2]}, None,\n'
    '             {"n": 3}])\n'
)


def test_collections_calls(session: ChromaSession) -> None:
    results = ok(session, (
        'create_collection("docs", metadata={"team": "a"}, '
        'configuration={"hnsw": {"space": "cosine"}})\n'
        'get_or_create_collection("docs")\n'
        'get_or_create_collection("my-docs")\n'
        "count_collections()\n"
        "list_collections()\n"
        'get_collection("docs")\n'
        'collection("my-docs").modify(name="renamed", metadata={"v": 2})\n'
        'delete_collection("docs")\n'
        "list_collections()\n"
        "heartbeat()\n"
        "get_version()\n"
    ))
    statuses = [r.status for r, _ in results]
    assert statuses[0] == "created collection docs"
    assert results[0][0].changes_state and results[0][0].columns is None
    assert results[3][1] == [(2,)] and results[3][0].changes_state is False
    listed = sorted(results[4][1])
    assert listed == [("docs", {"team": "a"}), ("my-docs", None)]
    described, rows = results[5]
    assert names(described) == ["name", "id", "count", "metadata", "configuration"]
    assert rows[0][0] == "docs" and rows[0][2] == 0 and rows[0][3] == {"team": "a"}
    assert rows[0][4]["hnsw"]["space"] == "cosine"
    assert statuses[6] == "modified collection my-docs" and results[6][0].changes_state
    assert statuses[7] == "deleted collection docs"
    assert results[8][1] == [("renamed", {"v": 2})]
    assert isinstance(results[9][1][0][0], int)
    assert results[10][1] == [(__import__("chromadb").__version__,)]


def test_write_calls_give_a_status_and_a_rowcount(session: ChromaSession) -> None:
    results = ok(session, PETS + (
        'pets.upsert(ids=["c", "d"], embeddings=[[2.0, 2.0], [3.0, 3.0]])\n'
        'pets.update(ids=["a"], metadatas=[{"n": 10}])\n'
        "pets.count()\n"
        'pets.delete(["b"])\n'
        'pets.delete(where={"n": 10})\n'
        "pets.count()\n"
    ))
    summary = [(r.status, r.rowcount, r.changes_state) for r, _ in results[1:]]
    assert summary == [
        ("added 3 records", 3, True), ("upserted 2 records", 2, True),
        ("updated 1 record", 1, True), ("1 row", 1, False),
        ("deleted 1 record", 1, True), ("deleted 1 record", 1, True), ("1 row", 1, False),
    ]
    assert results[4][1] == [(4,)] and results[7][1] == [(2,)]
    assert all(r.kind is ResultKind.VECTOR_RECORDS for r, _ in results[1:3])


def test_get_typed_metadata_documents_and_missing(session: ChromaSession) -> None:
    ok(session, PETS)
    result, rows = one(session, "pets.get()")
    assert result.kind is ResultKind.VECTOR_RECORDS and result.changes_state is False
    assert names(result) == ["id", "document", "n", "f", "ok", "s", "l"] or \
        set(names(result)[2:]) == {"n", "f", "ok", "s", "l"}
    columns = {c.name: c for c in result.columns or []}
    assert columns["id"].kind is ColumnKind.ID
    assert columns["document"].role is ColumnRole.DOCUMENT
    assert all(columns[k].role is ColumnRole.METADATA for k in ("n", "f", "ok", "s", "l"))
    assert columns["l"].kind is ColumnKind.JSON
    assert result.status == "3 records" and result.rowcount == 3
    order = names(result)
    by_id = {row[0]: dict(zip(order, row, strict=True)) for row in rows}
    a = by_id["a"]
    assert (a["document"], a["n"], a["f"], a["ok"], a["s"], a["l"]) == \
        ("alpha", 1, 1.5, True, "x", [1, 2])
    assert type(a["n"]) is int and type(a["ok"]) is bool and type(a["f"]) is float
    assert all(by_id["b"][k] is MISSING for k in ("n", "f", "ok", "s", "l"))
    assert by_id["c"]["n"] == 3 and by_id["c"]["s"] is MISSING
    # a record without a document
    ok(session, 'pets.add(ids=["z"], embeddings=[[5.0, 5.0]])')
    _result, rows = one(session, 'pets.get(ids=["z"], include=["documents"])')
    assert rows == [("z", None)]
    _result, rows = one(session, 'pets.get(where={"n": {"$gte": 2}}, include=[])')
    assert rows == [("c",)]


def test_get_streams_pages_of_the_batch_size(session: ChromaSession) -> None:
    ids = [f"r{i:02d}" for i in range(7)]
    embeddings = [[float(i), 0.0] for i in range(7)]
    # the key k appears only from the 5th record on: a later batch adds its column
    metadatas = [{"i": i} if i < 4 else {"i": i, "k": "late"} for i in range(7)]
    ok(session, f'create_collection("many")\nmany.add(ids={ids}, embeddings={embeddings}, '
                f'metadatas={metadatas})')
    session.batch_size = 2
    result = next(session.execute('many.get(include=["metadatas"])'))
    assert names(result) == ["id", "i"]
    batches = []
    widths = []
    for batch in result.batches():
        batches.append(batch)
        widths.append(len(result.columns or []))
    assert [len(b) for b in batches] == [2, 2, 2, 1]
    assert widths == [2, 2, 3, 3]
    assert names(result) == ["id", "i", "k"] and result.columns[2].role is ColumnRole.METADATA
    assert batches[0] == [("r00", 0), ("r01", 1)]
    assert batches[2] == [("r04", 4, "late"), ("r05", 5, "late")]
    assert result.rowcount == 7
    # the call's own limit and offset, paged within them
    result = next(session.execute('many.get(limit=3, offset=2, include=[])'))
    assert list(result.batches()) == [[("r02",), ("r03",)], [("r04",)]]
    # peek
    _result, rows = one(session, "many.peek(3)")
    assert [row[0] for row in rows] == ["r00", "r01", "r02"]


def test_embedding_column_is_the_float32_added(session: ChromaSession) -> None:
    values = [[0.1, -2.5e-8, 3.4028234e38], [1 / 3, 0.7, -0.0]]
    ok(session, f'create_collection("vec")\nvec.add(ids=["x", "y"], embeddings={values})')
    result, rows = one(session, 'vec.get(include=["embeddings"])')
    column = (result.columns or [])[-1]
    assert (column.name, column.kind, column.role) == \
        ("embedding", ColumnKind.VECTOR, ColumnRole.EMBEDDING)
    assert rows == [("x", Vector(array("f", values[0]))), ("y", Vector(array("f", values[1])))]
    assert rows[0][1].typecode == "f"
    result, rows = one(session, 'vec.query(query_embeddings=[[0.3, 0.7, 0.0]], n_results=1, '
                                'include=["embeddings", "distances"])')
    assert names(result) == ["id", "query", "distance", "embedding"]
    assert rows[0][0] == "y" and rows[0][3] == Vector(array("f", values[1]))


def test_query_rows_distances_and_chunks(session: ChromaSession) -> None:
    ok(session, PETS)
    session.batch_size = 2
    result = next(session.execute(
        'pets.query(query_embeddings=[[1.0, 0.0], [0.0, 1.0]], n_results=3)'))
    assert names(result)[:4] == ["id", "query", "distance", "document"]
    distance = (result.columns or [])[2]
    assert distance.role is ColumnRole.DISTANCE
    batches = list(result.batches())
    assert [len(b) for b in batches] == [2, 2, 2]
    rows = [row for batch in batches for row in batch]
    assert [(row[0], row[1]) for row in rows[:3]] == [("a", 0), ("c", 0), ("b", 0)]
    assert rows[0][2] == 0.0 and rows[1][2] == pytest.approx(1.0)
    assert [row[1] for row in rows[3:]] == [1, 1, 1] and rows[3][0] == "b"
    assert result.changes_state is False
    # where filters, a single embedding
    _result, rows = one(session, 'pets.query(query_embeddings=[1.0, 0.0], n_results=5, '
                                 'where={"n": 3}, include=["distances"])')
    assert rows == [("c", 0, pytest.approx(1.0))]


def test_offline_embedding_model_fails_fast_in_one_line(
    session: ChromaSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real download failure: no model in DBPLAY_CHROMA_MODEL_DIR, every proxy refused."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", ONNXMiniLM_L6_V2.DOWNLOAD_PATH)
    monkeypatch.setenv("DBPLAY_CHROMA_MODEL_DIR", str(tmp_path / "no-model"))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                 "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    ok(session, PETS)
    results = run(session, 'pets.count()\npets.query(query_texts=["hello"])\npets.count()')
    assert len(results) == 2
    error = results[1][0].error
    assert isinstance(error, QueryError) and not isinstance(error, QueryCancelled)
    assert str(error).startswith(
        "query_texts needs the embedding model (all-MiniLM-L6-v2), which could not be "
        "loaded: offline? Use query_embeddings=[...] or put the model in "
        "DBPLAY_CHROMA_MODEL_DIR")
    assert "\n" not in str(error) and (error.line, error.column) == (2, 6)
    ((result, _rows),) = run(session, 'pets.add(ids=["q"], documents=["text"])')
    assert result.error is not None and "documents needs the embedding model" in str(result.error)
    assert one(session, "pets.count()")[1] == [(3,)]


def test_errors_are_located_and_stop_the_script(session: ChromaSession) -> None:
    ok(session, PETS)
    results = run(session, 'pets.count()\n# note\n  collection("nope").get()\npets.count()')
    assert len(results) == 2
    error = results[1][0].error
    assert isinstance(error, QueryError)
    assert (error.line, error.column) == (3, 22)
    assert "nope" in str(error) and "\n" not in str(error)
    ((result, _rows),) = run(session, 'pets.add(ids=["x"], embeddings=[[1.0, 2.0, 3.0]])')
    assert result.error is not None and "dimension" in str(result.error)
    assert result.error.line == 1 and result.changes_state is True
    ((result, _rows),) = run(session, 'create_collection("pets")')
    assert result.error is not None and "exists" in str(result.error)
    ((result, _rows),) = run(session, "pets.get(ids=1)")
    assert isinstance(result.error, QueryError) and result.error.line == 1


def test_cancel_before_and_between_pages(session: ChromaSession) -> None:
    count = 3000
    ok(session, f'create_collection("big")\nbig.add(ids={[str(i) for i in range(count)]}, '
                f'embeddings={[[float(i)] for i in range(count)]})')
    results = session.execute("big.count()\nbig.count()")
    session.cancel()
    (result,) = list(results)
    assert isinstance(result.error, QueryCancelled) and result.changes_state is False

    session.batch_size = 1
    outcome: list[tuple[StatementResult, int, BaseException | None]] = []

    def work() -> None:
        for result in session.execute("big.get()\nbig.count()"):
            got = 0
            raised = None
            try:
                for batch in result.batches():
                    got += len(batch)
            except QueryCancelled as exc:
                raised = exc
            outcome.append((result, got, raised))

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    time.sleep(0.3)
    session.cancel()
    worker.join(30)
    assert not worker.is_alive()
    ((result, got, raised),) = outcome
    assert isinstance(result.error, QueryCancelled) and raised is result.error
    assert 0 < got < count
    session.batch_size = 500
    assert one(session, "big.count()")[1] == [(count,)]


def test_catalog_collections_and_metadata_keys(session: ChromaSession) -> None:
    ok(session, PETS + 'create_collection("my-docs", configuration={"hnsw": {"space": "ip"}})'
                       '\ncollection("my-docs").add(ids=["1"], embeddings=[[1.0, 2.0, 3.0]], '
                       'metadatas=[{"n": "text"}])\n'
                       'pets.add(ids=["d"], embeddings=[[0.0, 0.0]], metadatas=[{"n": 2.5}])')
    items = session.catalog()
    assert [(i.name, i.kind, i.insert_text) for i in items] == [
        ("my-docs", "collection", 'collection("my-docs")'), ("pets", "collection", "pets")]
    docs, pets = items
    assert docs.detail == "1 record, ip, default, 3 dimensions"
    assert pets.detail == "4 records, l2, default, 2 dimensions"
    keys = {c.name: c.detail for c in pets.children}
    assert all(c.kind == "field" for c in pets.children)
    assert keys == {"n": "int | float", "f": "float", "ok": "bool", "s": "str", "l": "list"}
