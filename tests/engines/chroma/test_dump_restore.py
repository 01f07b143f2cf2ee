"""Chroma payloads through a real chromadb PersistentClient: dump, scan, restore."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import IO

import pytest

from dbplay_desktop.engines.base import PayloadSink, PayloadSource, RestoreError, UnsafeContent
from dbplay_desktop.engines.chroma.dump import write_dump
from dbplay_desktop.engines.chroma.restore import restore_into
from dbplay_desktop.engines.chroma.safety import scan_payload

np = pytest.importorskip("numpy")
pytest.importorskip("chromadb")


class MemorySink(PayloadSink):
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.open_now = 0

    def open(self, path: str) -> IO[bytes]:
        assert path not in self.files and self.open_now == 0, path
        sink = self
        sink.open_now += 1

        class _File(io.BytesIO):
            def close(self) -> None:
                if not self.closed:
                    sink.files[path] = self.getvalue()
                    sink.open_now -= 1
                super().close()

        return _File()


class MemorySource(PayloadSource):
    def __init__(self, files: dict[str, bytes], order: Sequence[str] | None = None) -> None:
        self.files = dict(files)
        self.order = list(order if order is not None else files)

    def paths(self) -> Sequence[str]:
        return list(self.order)

    def open(self, path: str) -> IO[bytes]:
        return io.BytesIO(self.files[path])

    def size(self, path: str) -> int | None:
        return len(self.files[path])


def client_at(path):
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


def everything(collection):
    got = collection.get(include=["embeddings", "documents", "metadatas"])
    order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])
    return ([got["ids"][i] for i in order],
            np.asarray(got["embeddings"], dtype=np.float64).astype("<f4")[order]
            if len(got["ids"]) else np.zeros((0, 0), "<f4"),
            [got["documents"][i] for i in order], [got["metadatas"][i] for i in order])


def ulps(a, b):
    ia = a.view(np.int32).astype(np.int64)
    ib = b.view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(2**31) - ia, ia)
    ib = np.where(ib < 0, -(2**31) - ib, ib)
    return np.abs(ia - ib)


@pytest.fixture
def source_store(tmp_path):
    client = client_at(tmp_path / "src")
    rng = np.random.default_rng(7)
    for space in ("cosine", "l2", "ip"):
        col = client.create_collection(
            f"col-{space}", metadata={"space": space, "n": 3, "f": 0.1, "ok": True},
            configuration={"hnsw": {"space": space, "ef_construction": 120,
                                    "max_neighbors": 12}},
            embedding_function=None)
        n = 300
        vectors = rng.standard_normal((n, 8)).astype("<f4")
        ids = [f"id-{i}-é✓" for i in range(n)]
        documents = [None if i % 3 == 0 else f"document {i} ünïcode" for i in range(n)]
        metadatas = [None if i % 4 == 0 else
                     {"i": i, "big": 2**62 + i, "x": i / 7, "b": i % 2 == 0, "s": f"s{i}",
                      "li": [i, i + 1], "lf": [0.5, i / 3], "ls": ["a", "b"], "lb": [True]}
                     for i in range(n)]
        col.add(ids=ids, embeddings=vectors, documents=documents, metadatas=metadatas)
    client.create_collection("empty.one", embedding_function=None)
    return client


def test_round_trip(source_store, tmp_path):
    sink = MemorySink()
    info = write_dump(source_store, sink)
    assert info.engine_version == "1.5.9"
    assert info.stats["collections"] == 4 and info.stats["records"] == 900
    assert list(sink.files)[:3] == ["collections/0/collection.json",
                                    "collections/0/records.jsonl",
                                    "collections/0/embeddings.npy"]
    assert not any(b"pickle" in data[:200] for data in sink.files.values())
    source = MemorySource(sink.files)
    assert scan_payload(source) == []
    target = client_at(tmp_path / "dst")
    restore_into(target, source)
    names = sorted(c.name for c in target.list_collections())
    assert names == ["col-cosine", "col-ip", "col-l2", "empty.one"]
    for name in names:
        before = source_store.get_collection(name, embedding_function=None)
        after = target.get_collection(name, embedding_function=None)
        assert after.metadata == before.metadata
        assert after.configuration_json["hnsw"] == before.configuration_json["hnsw"]
        ids, vectors, documents, metadatas = everything(before)
        ids2, vectors2, documents2, metadatas2 = everything(after)
        assert ids2 == ids and documents2 == documents
        assert json.dumps(metadatas2, sort_keys=True) == json.dumps(metadatas, sort_keys=True)
        if not ids:
            continue
        if "cosine" in name:
            assert int(ulps(vectors, vectors2).max()) <= 4
            for probe in vectors[:5]:
                q1 = before.query(query_embeddings=[probe], n_results=10)
                q2 = after.query(query_embeddings=[probe], n_results=10)
                assert q1["ids"] == q2["ids"]
        else:
            assert vectors2.tobytes() == vectors.tobytes()
    # the dumped rows are what Chroma returned, bit for bit
    meta = json.loads(sink.files["collections/1/collection.json"])
    assert meta["name"] == "col-ip" and meta["count"] == 300 and meta["dimension"] == 8
    assert meta["configuration"]["hnsw"]["space"] == "ip"
    assert meta["dtype"] == "float32-le"
    empty = json.loads(sink.files["collections/3/collection.json"])
    assert empty["count"] == 0 and sink.files["collections/3/records.jsonl"] == b""
    lines = sink.files["collections/0/records.jsonl"].decode().splitlines()
    assert "document" not in json.loads(lines[0]) and "metadata" not in json.loads(lines[0])


def test_batches_larger_than_the_max_batch_size(tmp_path, monkeypatch):
    from chromadb.api.models.Collection import Collection

    source = client_at(tmp_path / "src")
    col = source.create_collection("many", configuration={"hnsw": {"space": "l2"}},
                                   embedding_function=None)
    vectors = np.arange(6000 * 3, dtype="<f4").reshape(6000, 3) / 7
    max_batch = source.get_max_batch_size()
    for start in range(0, 6000, max_batch):
        col.add(ids=[str(i) for i in range(start, min(6000, start + max_batch))],
                embeddings=vectors[start:start + max_batch])
    sink = MemorySink()
    write_dump(source, sink)
    target = client_at(tmp_path / "dst")
    sizes = []
    original = Collection.add

    def spy(self, *args, **kwargs):
        sizes.append(len(kwargs["ids"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "add", spy)
    restore_into(target, MemorySource(sink.files))
    assert sum(sizes) == 6000 and max(sizes) <= target.get_max_batch_size() and len(sizes) >= 2
    _, got, _, _ = everything(target.get_collection("many", embedding_function=None))
    order = sorted(range(6000), key=str)
    assert got.tobytes() == vectors[order].tobytes()


def test_uris_legacy_settings_and_no_model(tmp_path, monkeypatch):
    from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

    def no_model(*args, **kwargs):
        raise AssertionError("the restore asked for the default embedding model")

    source = client_at(tmp_path / "src")
    col = source.create_collection("legacy", metadata={"hnsw:space": "ip", "hnsw:M": 20},
                                   embedding_function=None)
    col.add(ids=["a", "b"], embeddings=[[1, 2], [3, 4]], uris=["file:///x", None],
            documents=["text", None])
    sink = MemorySink()
    write_dump(source, sink)
    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", no_model)
    monkeypatch.setattr(DefaultEmbeddingFunction, "__init__", no_model)
    target = client_at(tmp_path / "dst")
    restore_into(target, MemorySource(sink.files))
    after = target.get_collection("legacy", embedding_function=None)
    assert after.configuration_json["hnsw"]["space"] == "ip"
    assert after.configuration_json["hnsw"]["max_neighbors"] == 20
    assert after.metadata == {"hnsw:space": "ip", "hnsw:M": 20}
    got = after.get(include=["uris", "documents"])
    assert dict(zip(got["ids"], got["uris"], strict=True)) == {"a": "file:///x", "b": None}


def test_restore_refuses_a_store_that_holds_data(source_store, tmp_path):
    sink = MemorySink()
    write_dump(source_store, sink)
    with pytest.raises(RestoreError, match="not empty"):
        restore_into(source_store, MemorySource(sink.files))


def _payload(tmp_path):
    client = client_at(tmp_path / "src")
    col = client.create_collection("alpha", configuration={"hnsw": {"space": "l2"}},
                                   embedding_function=None)
    col.add(ids=["a", "b", "c"], embeddings=[[1, 2], [3, 4], [5, 6]],
            metadatas=[{"k": 1}, None, {"k": 2}])
    sink = MemorySink()
    write_dump(client, sink)
    return dict(sink.files)


def _npy(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


def _edit_json(files, path, **changes):
    value = json.loads(files[path])
    value.update(changes)
    files[path] = json.dumps(value).encode()


HOSTILE = {
    "pickle in the npy": lambda f: f.update({
        "collections/0/embeddings.npy": _npy(np.array([[{"x": 1}] * 2] * 3, dtype=object))}),
    "dimension mismatch": lambda f: _edit_json(f, "collections/0/collection.json", dimension=3),
    "huge declared rows": lambda f: f.update({
        "collections/0/embeddings.npy":
            f["collections/0/embeddings.npy"].replace(b"(3, 2)", b"(10000000, 2)")}),
    "bad name": lambda f: _edit_json(f, "collections/0/collection.json", name="../etc"),
    "non-finite float": lambda f: f.update({
        "collections/0/records.jsonl": f["collections/0/records.jsonl"].replace(
            b'{"k":1}', b'{"k":NaN}')}),
    "duplicate ids": lambda f: f.update({
        "collections/0/records.jsonl": f["collections/0/records.jsonl"].replace(
            b'"id":"b"', b'"id":"a"')}),
    "unknown config key": lambda f: _edit_json(
        f, "collections/0/collection.json",
        configuration={"hnsw": {"space": "l2", "num_lasers": 3}}),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_payloads_are_refused_with_nothing_left(tmp_path, attack):
    files = _payload(tmp_path)
    HOSTILE[attack](files)
    source = MemorySource(files)
    assert scan_payload(source), attack
    target = client_at(tmp_path / "dst")
    with pytest.raises(UnsafeContent):
        restore_into(target, source)
    # the engine deletes what was made; a refused header or collection.json makes nothing,
    # a refused record line leaves its collection (empty here: the first batch is refused)
    made = target.list_collections()
    assert all(c.count() == 0 for c in made)
    if attack not in ("non-finite float", "duplicate ids"):
        assert made == []


def test_unlisted_files_are_refused(tmp_path):
    files = _payload(tmp_path)
    files["collections/0/index.pkl"] = b"\x80\x04K\x01."
    source = MemorySource(files)
    assert any("pickle" in f.message for f in scan_payload(source))
    target = client_at(tmp_path / "dst")
    with pytest.raises(UnsafeContent):
        restore_into(target, source)
    assert target.list_collections() == []


def test_a_collection_that_changes_while_dumped_fails_clearly(tmp_path, monkeypatch):
    from chromadb.api.models.Collection import Collection

    from dbplay_desktop.engines.base import DumpError

    client = client_at(tmp_path / "src")
    col = client.create_collection("alpha", embedding_function=None)
    col.add(ids=["a", "b", "c"], embeddings=[[1, 2], [3, 4], [5, 6]])
    original = Collection.get

    def get_and_write(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if self.count() == 3:
            self.add(ids=["d"], embeddings=[[7, 8]])
        return result

    monkeypatch.setattr(Collection, "get", get_and_write)
    with pytest.raises(DumpError, match="'alpha' changed while it was saved"):
        write_dump(client, MemorySink())


def test_progress_can_cancel_a_dump_and_a_restore(source_store, tmp_path):
    from dbplay_desktop.engines.base import DumpError

    with pytest.raises(DumpError, match="cancelled"):
        write_dump(source_store, MemorySink(), lambda done, total: True)
    sink = MemorySink()
    seen = []
    write_dump(source_store, sink, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (900, 900)
    with pytest.raises(RestoreError, match="cancelled"):
        restore_into(client_at(tmp_path / "dst"), MemorySource(sink.files),
                     lambda done, total: True)
